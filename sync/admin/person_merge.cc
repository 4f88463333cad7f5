// See person_merge.h.
#include "sync/admin/person_merge.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sync/records/validate.h"

namespace stationsync {
namespace {

constexpr char kMergedInto[] = "merged_into";

// What undoes a merge, as the hub keeps it (the annotation's JSON).
struct MergeUndo {
  std::string keep;
  std::vector<std::string> filled;  // KEEP's fields the merge filled from DUPLICATE
  std::vector<std::string> personnel;
  std::vector<std::pair<std::string, bool>> cases;  // id, and whether KEEP was listed already
};

std::string EncodeUndo(const MergeUndo& undo) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& [id, had_keep] : undo.cases)
    cases.push_back({{"id", id}, {"had_keep", had_keep}});
  return nlohmann::json{
      {"keep", undo.keep}, {"filled", undo.filled}, {"personnel", undo.personnel}, {"cases", cases}}
      .dump();
}

Result<MergeUndo> DecodeUndo(const std::string& text) {
  try {
    const auto json = nlohmann::json::parse(text);
    MergeUndo undo;
    undo.keep = json.at("keep").get<std::string>();
    undo.filled = json.at("filled").get<std::vector<std::string>>();
    undo.personnel = json.at("personnel").get<std::vector<std::string>>();
    for (const auto& c : json.at("cases")) {
      undo.cases.emplace_back(c.at("id").get<std::string>(), c.at("had_keep").get<bool>());
    }
    return undo;
  } catch (const nlohmann::json::exception& e) {
    return Internal(fmt::format("the hub's note of a person merge is unreadable: {}", e.what()));
  }
}

bool IsMergedTombstone(const Record& record) {
  return record.table == Table::kRegistration && record.deleted &&
         record.Text(kMergedInto) != nullptr;
}

Result<std::string> CanonicalIdNumber(std::string_view id, std::string_view role) {
  auto canonical = NormalizeId(Table::kRegistration, id);
  if (!canonical.ok()) return Invalid(fmt::format("{}: {}", role, canonical.status().message()));
  return canonical;
}

// The live registration `id`, or why there is none.
Result<Record> LiveRegistration(const Replica& hub, const std::string& id) {
  auto record = hub.Get(Table::kRegistration, id);
  if (!record.ok()) return record.status();
  if (!*record) return NotFound(fmt::format("registration {} does not exist", id));
  if (IsMergedTombstone(**record)) {
    return Refused(fmt::format("registration {} is already merged into {}", id,
                               *(*record)->Text(kMergedInto)));
  }
  if ((*record)->deleted) return NotFound(fmt::format("registration {} is deleted", id));
  return std::move(**record);
}

const std::vector<std::string>* ListOf(const Record& record, const std::string& name) {
  const auto it = record.fields.find(name);
  return it == record.fields.end() ? nullptr
                                   : std::get_if<std::vector<std::string>>(&it->second.value);
}

bool Contains(const std::vector<std::string>& list, const std::string& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

Value FieldValue(const Record& record, const std::string& name) {
  const auto it = record.fields.find(name);
  return it == record.fields.end() ? Value{} : it->second.value;
}

// Adds to `plan` a put of `fields` on table/id, and its edit.
void AddPut(PersonMergePlan& plan, const Record& current, std::map<std::string, Value> fields) {
  if (fields.empty()) return;
  RecordEdit edit{current.table, current.id, {}};
  for (const auto& [name, value] : fields) {
    edit.changes.push_back({name, FieldValue(current, name), value});
  }
  plan.edits.push_back(std::move(edit));
  plan.write.ops.push_back({false, RecordPatch{current.table, current.id, "", std::move(fields)}});
}

std::string Text(const Record& record, std::string_view name) {
  const std::string* text = record.Text(name);
  return text == nullptr ? std::string("none") : *text;
}

}  // namespace

// FollowMerged; with `deleted_too`, a chain ending at a deleted registration leads to it.
static Result<std::optional<Record>> FollowChain(const Replica& replica, std::string_view id,
                                                 bool deleted_too) {
  auto canonical = NormalizeId(Table::kRegistration, id);
  if (!canonical.ok()) return std::optional<Record>();  // not an id number: nothing to follow
  auto record = replica.Get(Table::kRegistration, *canonical);
  if (!record.ok()) return record.status();
  if (!*record || !IsMergedTombstone(**record)) return std::optional<Record>();
  for (int hop = 0; hop < kMergeHopsMax; ++hop) {
    const std::string next = *(*record)->Text(kMergedInto);
    record = replica.Get(Table::kRegistration, next);
    if (!record.ok()) return record.status();
    if (!*record) {
      return NotFound(fmt::format("registration {} was merged into {}, which is not held here",
                                  *canonical, next));
    }
    if (!IsMergedTombstone(**record)) {
      if ((*record)->deleted && !deleted_too) {
        return NotFound(
            fmt::format("registration {} was merged into {}, which is deleted", *canonical, next));
      }
      return record;
    }
  }
  return NotFound(
      fmt::format("registration {} leads through more than {} merges", *canonical, kMergeHopsMax));
}

Result<std::optional<Record>> FollowMerged(const Replica& replica, std::string_view id) {
  return FollowChain(replica, id, /*deleted_too=*/false);
}

Status RedirectMergedInvolved(const Replica& replica, RecordPatch& patch) {
  if (patch.table != Table::kCase) return Status::Ok();
  const auto it = patch.fields.find("involved");
  if (it == patch.fields.end()) return Status::Ok();
  auto* persons = std::get_if<std::vector<std::string>>(&it->second);
  if (persons == nullptr) return Status::Ok();
  std::vector<std::string> redirected;
  for (const std::string& id : *persons) {
    // A case names the record kept even while it is deleted (it may be written again).
    auto kept = FollowChain(replica, id, /*deleted_too=*/true);
    if (!kept.ok() && kept.status().code() != Code::kNotFound) return kept.status();
    const std::string person = kept.ok() && *kept ? (**kept).id : id;
    if (std::find(redirected.begin(), redirected.end(), person) == redirected.end()) {
      redirected.push_back(person);
    }
  }
  *persons = std::move(redirected);
  return Status::Ok();
}

Result<PersonMergePlan> PlanPersonMerge(const Replica& hub, std::string_view keep_id,
                                        std::string_view duplicate_id, const std::string& actor) {
  auto keep_number = CanonicalIdNumber(keep_id, "KEEP");
  if (!keep_number.ok()) return keep_number.status();
  auto duplicate_number = CanonicalIdNumber(duplicate_id, "DUPLICATE");
  if (!duplicate_number.ok()) return duplicate_number.status();
  if (*keep_number == *duplicate_number) {
    return Invalid(
        fmt::format("{} and {} are one id number: nothing to merge", keep_id, duplicate_id));
  }
  auto duplicate = LiveRegistration(hub, *duplicate_number);
  if (!duplicate.ok()) return duplicate.status();
  auto keep = hub.Get(Table::kRegistration, *keep_number);
  if (!keep.ok()) return keep.status();
  if (*keep && IsMergedTombstone(**keep)) {
    return Refused(fmt::format("registration {} was itself merged into {}: merge into that one",
                               *keep_number, *(*keep)->Text(kMergedInto)));
  }
  auto kept = LiveRegistration(hub, *keep_number);
  if (!kept.ok()) return kept.status();
  for (const char* field : {"sex", "birth_date"}) {
    if (Text(*kept, field) != Text(*duplicate, field)) {
      return Refused(fmt::format(
          "registrations {} and {} differ in {} ({} and {}): they are not one person", *keep_number,
          *duplicate_number, field, Text(*kept, field), Text(*duplicate, field)));
    }
  }

  PersonMergePlan plan;
  plan.keep = *keep_number;
  plan.duplicate = *duplicate_number;
  plan.write.actor = actor;
  MergeUndo undo{plan.keep, {}, {}, {}};

  std::map<std::string, Value> fills;
  for (const auto& [name, state] : duplicate->fields) {
    if (name == kMergedInto || IsNull(state.value)) continue;
    if (IsNull(FieldValue(*kept, name))) {
      fills.emplace(name, state.value);
      undo.filled.push_back(name);
    }
  }
  AddPut(plan, *kept, std::move(fills));

  auto references = hub.RecordsNaming(plan.duplicate, kPersonReferencesMax);
  if (!references.ok()) return references.status();
  for (const RecordRef& ref : *references) {
    auto record = hub.Get(ref.table, ref.id);
    if (!record.ok()) return record.status();
    if (!*record || (*record)->deleted) continue;
    if (ref.table == Table::kPersonnel) {
      if (Text(**record, "id_number") != plan.duplicate) continue;
      AddPut(plan, **record, {{"id_number", Value(plan.keep)}});
      undo.personnel.push_back(ref.id);
    } else if (ref.table == Table::kCase) {
      const auto* involved = ListOf(**record, "involved");
      if (involved == nullptr || !Contains(*involved, plan.duplicate)) continue;
      const bool had_keep = Contains(*involved, plan.keep);
      std::vector<std::string> rewritten;
      for (const std::string& id : *involved) {
        const std::string& now = id == plan.duplicate ? plan.keep : id;
        if (!Contains(rewritten, now)) rewritten.push_back(now);
      }
      AddPut(plan, **record, {{"involved", Value(std::move(rewritten))}});
      undo.cases.emplace_back(ref.id, had_keep);
    }
  }

  // The tombstone: merged_into first, then the delete (a put of a deleted record revives it).
  plan.edits.push_back({Table::kRegistration,
                        plan.duplicate,
                        {{kMergedInto, Value{}, Value(plan.keep)},
                         {"deleted", Value(std::string("false")), Value(std::string("true"))}}});
  plan.write.ops.push_back(
      {false,
       RecordPatch{Table::kRegistration, plan.duplicate, "", {{kMergedInto, Value(plan.keep)}}}});
  plan.write.ops.push_back({true, RecordPatch{Table::kRegistration, plan.duplicate, "", {}}});
  plan.write.annotations[kPersonMergeAnnotation + plan.duplicate] = EncodeUndo(undo);
  return plan;
}

Result<PersonMergePlan> PlanPersonUnmerge(const Replica& hub, std::string_view duplicate_id,
                                          const std::string& actor) {
  auto duplicate_number = CanonicalIdNumber(duplicate_id, "DUPLICATE");
  if (!duplicate_number.ok()) return duplicate_number.status();
  auto duplicate = hub.Get(Table::kRegistration, *duplicate_number);
  if (!duplicate.ok()) return duplicate.status();
  if (!*duplicate) {
    return NotFound(fmt::format("registration {} does not exist", *duplicate_number));
  }
  if (!IsMergedTombstone(**duplicate)) {
    return Refused(fmt::format("registration {} is not merged into another", *duplicate_number));
  }
  auto note = hub.Annotation(kPersonMergeAnnotation + *duplicate_number);
  if (!note.ok()) return note.status();
  if (!*note) {
    return Refused(fmt::format(
        "this hub holds no note of how registration {} was merged, so it cannot undo it",
        *duplicate_number));
  }
  auto undo = DecodeUndo(**note);
  if (!undo.ok()) return undo.status();

  PersonMergePlan plan;
  plan.keep = undo->keep;
  plan.duplicate = *duplicate_number;
  plan.write.actor = actor;

  // Reviving the duplicate: clearing merged_into is a put, and a put revives a tombstone.
  plan.edits.push_back({Table::kRegistration,
                        plan.duplicate,
                        {{kMergedInto, Value(plan.keep), Value{}},
                         {"deleted", Value(std::string("true")), Value(std::string("false"))}}});
  plan.write.ops.push_back(
      {false, RecordPatch{Table::kRegistration, plan.duplicate, "", {{kMergedInto, Value{}}}}});

  auto keep = hub.Get(Table::kRegistration, plan.keep);
  if (!keep.ok()) return keep.status();
  if (*keep && !(*keep)->deleted) {
    std::map<std::string, Value> cleared;
    for (const std::string& name : undo->filled) {
      const Value filled = FieldValue(**duplicate, name);
      if (!IsNull(filled) && FieldValue(**keep, name) == filled) cleared.emplace(name, Value{});
    }
    AddPut(plan, **keep, std::move(cleared));
  }
  for (const std::string& id : undo->personnel) {
    auto record = hub.Get(Table::kPersonnel, id);
    if (!record.ok()) return record.status();
    if (!*record || (*record)->deleted || Text(**record, "id_number") != plan.keep) continue;
    AddPut(plan, **record, {{"id_number", Value(plan.duplicate)}});
  }
  for (const auto& [id, had_keep] : undo->cases) {
    auto record = hub.Get(Table::kCase, id);
    if (!record.ok()) return record.status();
    if (!*record || (*record)->deleted) continue;
    const auto* involved = ListOf(**record, "involved");
    if (involved == nullptr || !Contains(*involved, plan.keep)) continue;
    std::vector<std::string> restored;
    for (const std::string& person : *involved) {
      if (person == plan.keep) {
        if (had_keep) restored.push_back(plan.keep);
        if (!Contains(*involved, plan.duplicate)) restored.push_back(plan.duplicate);
      } else {
        restored.push_back(person);
      }
    }
    if (restored != *involved) AddPut(plan, **record, {{"involved", Value(std::move(restored))}});
  }
  plan.write.annotations[kPersonMergeAnnotation + plan.duplicate] = std::nullopt;
  return plan;
}

}  // namespace stationsync
