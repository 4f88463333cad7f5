// See domain_check.h.
//
// Scratch entries, as key parts (AppendKeyPart) -> value (scope flag '1'/'0', then a payload):
//   "p" county name sex birth_date id      -> household     a person's registration
//   "h" household id                       -> "head" | ""   a household's member
//   "l" police_number "0"                  -> ""            a personnel record exists
//   "l" police_number "1" case_number      -> ""            a case is led by it
//   "i" id_number "0"                      -> ""            a registration exists
//   "i" id_number "1" case_number          -> ""            a case involves it
// A group is the type and its leading parts (kGroupParts); "0" sorts before "1", so the entry
// that resolves a reference comes first in its group.
#include "sync/admin/domain_check.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stationsync {
namespace {

constexpr std::string_view kPerson = "p";
constexpr std::string_view kMember = "h";
constexpr std::string_view kLead = "l";
constexpr std::string_view kInvolved = "i";
constexpr std::string_view kExists = "0";
constexpr std::string_view kReference = "1";
constexpr size_t kCountyDigits = 6;

// How many leading parts (the type included) name an entry's group.
size_t GroupParts(std::string_view type) {
  return type == kPerson ? 5 : 2;
}

std::string_view TextOr(const Record& record, std::string_view field, std::string_view fallback) {
  const std::string* text = record.Text(field);
  return text ? std::string_view(*text) : fallback;
}

bool Cancelled(const Record& registration) {
  return TextOr(registration, "status", "active") == "cancelled";
}

std::string Listed(const std::vector<std::string>& items, size_t total) {
  std::string out = fmt::format("{}", fmt::join(items, ", "));
  if (total > items.size()) out += fmt::format(" and {} more", total - items.size());
  return out;
}

}  // namespace

DomainCheck::DomainCheck(SortedScratch& scratch, const std::vector<Record>& units,
                         DomainCheckOptions options, Emit emit)
    : scratch_(scratch), options_(std::move(options)), emit_(std::move(emit)) {
  for (const Record& unit : units) {
    if (!unit.deleted) unit_status_[unit.id] = std::string(TextOr(unit, "status", "active"));
  }
}

bool DomainCheck::InScope(const Record& record) const {
  return options_.scope.empty() || options_.scope.contains(record.owner);
}

Status DomainCheck::Put(const std::vector<std::string_view>& parts, bool in_scope,
                        std::string_view payload) {
  std::string key;
  for (std::string_view part : parts) AppendKeyPart(key, part);
  std::string value(1, in_scope ? '1' : '0');
  value.append(payload);
  return scratch_.Add(key, value);
}

void DomainCheck::CheckOwner(const Record& record) {
  if (!options_.owners || !InScope(record)) return;
  const auto it = unit_status_.find(record.owner);
  std::string why;
  if (it == unit_status_.end()) {
    why = "which is no unit in the registry";
  } else if (it->second == "retired") {
    why = "which is retired";
  } else {
    return;
  }
  emit_(DomainProblem{std::string(kUnknownOwner),
                      {{record.table, record.id}},
                      fmt::format("{} {} is owned by {}, {}", TableName(record.table), record.id,
                                  record.owner, why)});
}

Status DomainCheck::Add(const Record& record) {
  if (record.deleted) return Status::Ok();
  ++records_;
  CheckOwner(record);
  const bool in_scope = InScope(record);
  switch (record.table) {
    case Table::kUnit:
      return Status::Ok();
    case Table::kPersonnel:
      return options_.references ? Put({kLead, record.id, kExists}, in_scope, "") : Status::Ok();
    case Table::kRegistration: {
      if (options_.references) SS_RETURN_IF_ERROR(Put({kInvolved, record.id, kExists}, false, ""));
      if (Cancelled(record)) return Status::Ok();
      const std::string_view household = TextOr(record, "household", "");
      const bool head = TextOr(record, "relation", "") == "head";
      SS_RETURN_IF_ERROR(Put({kMember, household, record.id}, in_scope, head ? "head" : ""));
      const std::string_view county = std::string_view(record.id).substr(0, kCountyDigits);
      return Put({kPerson, county, TextOr(record, "name", ""), TextOr(record, "sex", ""),
                  TextOr(record, "birth_date", ""), record.id},
                 in_scope, household);
    }
    case Table::kCase: {
      if (!options_.references) return Status::Ok();
      if (const std::string* lead = record.Text("lead_officer")) {
        SS_RETURN_IF_ERROR(Put({kLead, *lead, kReference, record.id}, in_scope, ""));
      }
      const auto field = record.fields.find("involved");
      if (field == record.fields.end()) return Status::Ok();
      const auto* involved = std::get_if<std::vector<std::string>>(&field->second.value);
      if (involved == nullptr) return Status::Ok();
      for (const std::string& id : *involved) {
        SS_RETURN_IF_ERROR(Put({kInvolved, id, kReference, record.id}, in_scope, ""));
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status DomainCheck::Finish() {
  std::vector<std::string> group;  // the current group's leading parts
  std::vector<Entry> entries;      // its first kMaxGroupRecords entries
  size_t total = 0;                // all its entries
  Status bad = Status::Ok();
  auto flush = [&] {
    if (!group.empty()) JudgeGroup(group, entries, total);
    group.clear();
    entries.clear();
    total = 0;
  };
  SS_RETURN_IF_ERROR(scratch_.Scan([&](std::string_view key, std::string_view value) {
    auto parts = SplitKeyParts(key);
    if (!parts.ok() || parts->empty() || value.empty() ||
        parts->size() <= GroupParts((*parts)[0])) {
      if (bad.ok()) bad = Internal("domain check: a malformed scratch entry");
      return;
    }
    const size_t lead = GroupParts((*parts)[0]);
    const bool same = group.size() == lead &&
                      std::equal(group.begin(), group.end(), parts->begin(), parts->begin() + lead);
    if (!same) {
      flush();
      group.assign(parts->begin(), parts->begin() + lead);
    }
    ++total;
    if (entries.size() < kMaxGroupRecords) {
      entries.push_back(Entry{std::vector<std::string>(parts->begin() + lead, parts->end()),
                              value[0] == '1', std::string(value.substr(1))});
    }
  }));
  flush();
  return bad;
}

void DomainCheck::JudgeGroup(const std::vector<std::string>& group,
                             const std::vector<Entry>& entries, size_t total) {
  const std::string& type = group[0];
  if (type == kPerson) {
    JudgePerson(group, entries, total);
  } else if (type == kMember) {
    JudgeHousehold(group[1], entries, total);
  } else if (type == kLead) {
    JudgeReferences(kDanglingLeadOfficer, group[1], entries);
  } else if (type == kInvolved) {
    JudgeReferences(kDanglingInvolved, group[1], entries);
  }
}

void DomainCheck::JudgePerson(const std::vector<std::string>& group,
                              const std::vector<Entry>& entries, size_t total) {
  const bool any_in_scope =
      std::any_of(entries.begin(), entries.end(), [](const Entry& e) { return e.in_scope; });
  if (total < 2 || !any_in_scope) return;
  DomainProblem problem{std::string(kDuplicatePerson), {}, ""};
  std::vector<std::string> where;
  for (const Entry& e : entries) {
    problem.records.push_back({Table::kRegistration, e.parts[0]});
    where.push_back(fmt::format("{} (household {})", e.parts[0], e.payload));
  }
  problem.detail =
      fmt::format("{} ({}, born {}) is registered under {} id numbers in county {}: {}", group[2],
                  group[3], group[4], total, group[1], Listed(where, total));
  emit_(problem);
}

void DomainCheck::JudgeHousehold(const std::string& household, const std::vector<Entry>& entries,
                                 size_t total) {
  const bool any_in_scope =
      std::any_of(entries.begin(), entries.end(), [](const Entry& e) { return e.in_scope; });
  if (!any_in_scope) return;
  std::vector<std::string> heads;
  std::vector<std::string> members;
  for (const Entry& e : entries) {
    members.push_back(e.parts[0]);
    if (e.payload == "head") heads.push_back(e.parts[0]);
  }
  if (heads.size() == 1) return;
  const bool none = heads.empty();
  if (none && total > entries.size()) return;  // a head may be among the members not listed
  const std::vector<std::string>& listed = none ? members : heads;
  DomainProblem problem{
      std::string(none ? kHouseholdWithoutHead : kHouseholdMultipleHeads), {}, ""};
  for (const std::string& id : listed) problem.records.push_back({Table::kRegistration, id});
  problem.detail = none ? fmt::format("household {} has {} members and no head: {}", household,
                                      total, Listed(members, total))
                        : fmt::format("household {} has {} heads: {}", household, heads.size(),
                                      Listed(heads, 0));
  emit_(problem);
}

void DomainCheck::JudgeReferences(std::string_view kind, const std::string& target,
                                  const std::vector<Entry>& entries) {
  if (entries.empty() || entries[0].parts[0] == kExists) return;
  for (const Entry& e : entries) {
    if (!e.in_scope || e.parts.size() < 2) continue;
    const std::string& case_number = e.parts[1];
    emit_(DomainProblem{
        std::string(kind),
        {{Table::kCase, case_number}},
        kind == kDanglingLeadOfficer
            ? fmt::format("case {} is led by police number {}, which no personnel record has",
                          case_number, target)
            : fmt::format("case {} involves id number {}, which has no registration", case_number,
                          target)});
  }
}

}  // namespace stationsync
