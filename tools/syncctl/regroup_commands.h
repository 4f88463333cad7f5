// syncctl merge / unmerge / transfer: regrouping units and handing records over, at the hub
// (sync/protocol/regroup.h says what each may change and why it is refused). Each prints the
// records it wrote, as JSON lines like `put`: merge, the members' unit records; unmerge, the unit
// record; transfer, the record with its new owner. A station's daemon refuses all three (exit 4).
//
// Exit codes: 1 an unknown unit or record; 2 usage errors, a member named twice or equal to
// --into, a transfer of a unit record; 4 refused: a non-station member or --into, members already
// in --into's group (the merge would loop), a member already merged elsewhere, an unmerge of a
// unit that is not merged, a transfer to a retired unit, any of them at a station.
#pragma once

#include <string>
#include <vector>

#include "tools/syncctl/commands.h"

namespace stationsync {

// `as` is empty or "suboffice" (the members' kind becomes suboffice).
int CmdMerge(const GlobalFlags& flags, const std::string& into,
             const std::vector<std::string>& members, const std::string& as);
int CmdUnmerge(const GlobalFlags& flags, const std::string& code);
int CmdTransfer(const GlobalFlags& flags, const std::string& table, const std::string& id,
                const std::string& to);

}  // namespace stationsync
