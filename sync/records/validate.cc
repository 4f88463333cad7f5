#include "sync/records/validate.h"

#include <algorithm>

#include <fmt/format.h>

#include "sync/records/calendar.h"
#include "sync/records/id_number.h"
#include "sync/records/merge_policy.h"
#include "sync/records/table_schema.h"
#include "sync/transport/curve_key.h"

namespace stationsync {
namespace {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

Status FieldError(const FieldSpec& spec, const std::string& reason) {
  return Invalid(fmt::format("field {}: {}", spec.name, reason));
}

bool IsPhone(std::string_view s) {
  if (s.size() < 3 || s.size() > 20) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == ' ' || c == '+' || c == '-';
  });
}

bool IsAreaCode(std::string_view s) {
  return s.size() == 12 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Checks one text item against the spec's format; returns its canonical form.
// How many times a write's limit the field may hold (validate.h, Bounds).
size_t Headroom(const FieldSpec& spec, Bounds bounds) {
  const bool grows_by_merging =
      spec.merge == MergePolicy::kSet || spec.merge == MergePolicy::kAppend;
  return bounds == Bounds::kStored && grows_by_merging ? kMergedHeadroom : 1;
}

Result<std::string> NormalizeText(const FieldSpec& spec, std::string text, Bounds bounds) {
  if (!IsValidUtf8(text)) return FieldError(spec, "is not valid UTF-8");
  const size_t limit =
      (spec.format == FieldFormat::kLongText ? kLongTextBytesMax : kPlainTextBytesMax) *
      Headroom(spec, bounds);
  if (text.size() > limit) {
    return FieldError(spec, fmt::format("is {} bytes, more than {}", text.size(), limit));
  }
  if (text.empty()) return FieldError(spec, "is empty (use null to clear a field)");
  switch (spec.format) {
    case FieldFormat::kPlain:
    case FieldFormat::kLongText:
      return text;
    case FieldFormat::kCode:
      if (!IsCode(text)) {
        return FieldError(spec,
                          fmt::format("'{}' is not 1 to 40 letters, digits, '-' or '_'", text));
      }
      return text;
    case FieldFormat::kIdNumber: {
      auto id = ParseIdNumber(text);
      if (!id.ok()) return FieldError(spec, id.status().message());
      return std::move(id->digits);
    }
    case FieldFormat::kDate:
      if (!ParseDate(text)) {
        return FieldError(spec, fmt::format("'{}' is not a real date (YYYY-MM-DD)", text));
      }
      return text;
    case FieldFormat::kDateTime:
      if (!ParseDateTimeMs(text)) {
        return FieldError(spec, fmt::format("'{}' is not an ISO 8601 date and time with a zone "
                                            "(e.g. 2024-03-01T08:30:00+08:00)",
                                            text));
      }
      return text;
    case FieldFormat::kAreaCode:
      if (!IsAreaCode(text)) {
        return FieldError(spec, fmt::format("'{}' is not a 12-digit division code", text));
      }
      return text;
    case FieldFormat::kPhone:
      if (!IsPhone(text)) {
        return FieldError(spec, fmt::format("'{}' is not a phone number", text));
      }
      return text;
    case FieldFormat::kCurveKey:
      if (!IsCurveKey(text)) {
        return FieldError(spec, "is not a CURVE public key (40 characters of Z85 text)");
      }
      return text;
  }
  return FieldError(spec, "has an unknown format");
}

Status CheckIdAgrees(const Record& record, std::string_view id_text, std::string_view what) {
  const auto id = ParseIdNumber(id_text);
  if (!id.ok()) return Invalid(fmt::format("{}: {}", what, id.status().message()));
  if (const std::string* birth = record.Text("birth_date");
      birth && FormatDate(id->birth_date) != *birth) {
    return Invalid(fmt::format("field birth_date: {} disagrees with {} {}, which says {}", *birth,
                               what, id->digits, FormatDate(id->birth_date)));
  }
  if (const std::string* sex = record.Text("sex"); sex && (*sex == "male") != id->male) {
    return Invalid(fmt::format("field sex: {} disagrees with {} {}, whose sex digit says {}", *sex,
                               what, id->digits, id->male ? "male" : "female"));
  }
  return Status::Ok();
}

}  // namespace

bool IsCode(std::string_view text) {
  if (text.empty() || text.size() > kCodeBytesMax) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
           c == '_';
  });
}

Result<std::string> NormalizeId(Table table, std::string_view id) {
  if (table == Table::kRegistration) {
    auto parsed = ParseIdNumber(id);
    if (!parsed.ok()) return Invalid("id: " + parsed.status().message());
    return std::move(parsed->digits);
  }
  if (!IsCode(id)) {
    return Invalid(fmt::format("id: '{}' is not 1 to 40 letters, digits, '-' or '_'", id));
  }
  return std::string(id);
}

Result<Value> NormalizeField(Table table, std::string_view name, Value value, Bounds bounds) {
  const FieldSpec* spec = TableSchema::Of(table).Find(name);
  if (spec == nullptr) {
    return Invalid(fmt::format("field {}: table {} has no such field", name, TableName(table)));
  }
  if (IsNull(value)) return value;
  switch (spec->kind) {
    case FieldKind::kText: {
      auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) return FieldError(*spec, "must be a string");
      auto normalized = NormalizeText(*spec, std::move(*text), bounds);
      if (!normalized.ok()) return normalized.status();
      return Value(std::move(normalized).value());
    }
    case FieldKind::kEnum: {
      auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) return FieldError(*spec, "must be a string");
      if (std::find(spec->choices.begin(), spec->choices.end(), *text) == spec->choices.end()) {
        return FieldError(
            *spec, fmt::format("'{}' is not one of {}", *text, fmt::join(spec->choices, ", ")));
      }
      return value;
    }
    case FieldKind::kTextList: {
      auto* list = std::get_if<std::vector<std::string>>(&value);
      if (list == nullptr) return FieldError(*spec, "must be an array of strings");
      const size_t items_max = kListItemsMax * Headroom(*spec, bounds);
      if (list->size() > items_max) {
        return FieldError(*spec,
                          fmt::format("has {} items, more than {}", list->size(), items_max));
      }
      std::vector<std::string> out;
      for (auto& item : *list) {
        auto normalized = NormalizeText(*spec, std::move(item), bounds);
        if (!normalized.ok()) return normalized.status();
        out.push_back(std::move(normalized).value());
      }
      return Value(std::move(out));
    }
  }
  return FieldError(*spec, "has an unknown kind");
}

Status ValidateRecord(const Record& record, FieldStates field_states) {
  // Collects every problem, so that a writer fixes a record in one round.
  std::vector<std::string> problems;
  auto note = [&problems](const Status& status) {
    if (!status.ok()) problems.push_back(status.message());
  };
  auto id = NormalizeId(record.table, record.id);
  if (!id.ok()) {
    note(id.status());
  } else if (*id != record.id) {
    note(Invalid("id: " + record.id + " is not in canonical form " + *id));
  }
  if (!IsCode(record.owner)) {
    note(Invalid(fmt::format("owner: '{}' is not a unit code", record.owner)));
  }
  if (field_states == FieldStates::kCheck) {
    for (const auto& [name, state] : record.fields) {
      auto normalized = NormalizeField(record.table, name, state.value, Bounds::kStored);
      if (!normalized.ok()) {
        note(normalized.status());
      } else if (*normalized != state.value) {
        note(Invalid(fmt::format("field {}: not in canonical form", name)));
      } else {
        note(CheckPolicyState(*TableSchema::Of(record.table).Find(name), state));
      }
    }
  }
  for (const FieldSpec& spec : TableSchema::Of(record.table).fields()) {
    const auto it = record.fields.find(spec.name);
    if (spec.required && (it == record.fields.end() || IsNull(it->second.value))) {
      note(FieldError(spec, fmt::format("is required for a {} record", TableName(record.table))));
    }
  }
  if (record.table == Table::kRegistration && id.ok()) {
    note(CheckIdAgrees(record, *id, "id number"));
  }
  if (record.table == Table::kPersonnel) {
    if (const std::string* id_number = record.Text("id_number")) {
      note(CheckIdAgrees(record, *id_number, "field id_number"));
    }
  }
  if (problems.empty()) return Status::Ok();
  return Invalid(fmt::format("{}", fmt::join(problems, "; ")));
}

const std::vector<std::string>& FieldsCheckedTogether(Table table, std::string_view field) {
  static const std::vector<std::string> kNone;
  static const std::vector<std::string> kPersonnelId = {"id_number", "sex"};  // CheckIdAgrees
  if (table == Table::kPersonnel && (field == "id_number" || field == "sex")) return kPersonnelId;
  return kNone;
}

Status ValidateRemoteChange(const Record& change) {
  auto id = NormalizeId(change.table, change.id);
  if (!id.ok()) return id.status();
  if (*id != change.id) return Invalid("id: " + change.id + " is not in canonical form");
  if (change.updated.IsZero() || !IsCode(change.updated.node)) {
    return Invalid("change has no valid stamp");
  }
  if (!Includes(change.seen, change.updated)) {
    return Invalid("change's version vector does not include its own stamp");
  }
  if (!change.owner_stamp.IsZero() && !IsCode(change.owner)) {
    return Invalid(fmt::format("owner: '{}' is not a unit code", change.owner));
  }
  for (const auto& [name, state] : change.fields) {
    if (state.stamp.IsZero()) return Invalid(fmt::format("field {}: has no stamp", name));
    auto normalized = NormalizeField(change.table, name, state.value, Bounds::kStored);
    if (!normalized.ok()) return normalized.status();
    if (*normalized != state.value) {
      return Invalid(fmt::format("field {}: not in canonical form", name));
    }
    SS_RETURN_IF_ERROR(CheckPolicyState(*TableSchema::Of(change.table).Find(name), state));
    // An element's dot is a write the state includes; naming one the sender's own version vector
    // lacks would plant an element no removal by it can ever have seen.
    for (const auto* list : {&state.elements, &state.removed}) {
      for (const Element& e : *list) {
        if (!Includes(change.seen, e.stamp)) {
          return Invalid(
              fmt::format("field {}: an element's write is not in the version vector", name));
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace stationsync
