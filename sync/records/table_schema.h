// The fields of each table, read once from schema/records.capnp through Cap'n Proto reflection:
// JSON name, kind (text, list of text, enum), allowed enum values (in declared order), whether
// required, format, and merge policy.
//
// Immutable after construction; safe to share between threads. Get one with TableSchema::Of().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sync/records/record.h"

namespace stationsync {

enum class FieldKind { kText, kTextList, kEnum };

// Mirrors schema::Format in records.capnp (same order).
enum class FieldFormat {
  kPlain,
  kCode,
  kIdNumber,
  kDate,
  kDateTime,
  kAreaCode,
  kPhone,
  kLongText,
  kCurveKey
};

// Mirrors schema::MergePolicy in records.capnp (same order): how concurrent writes merge.
enum class MergePolicy { kRegister, kSet, kAppend, kLifecycle };

struct FieldSpec {
  std::string name;  // JSON name, snake_case
  FieldKind kind = FieldKind::kText;
  FieldFormat format = FieldFormat::kPlain;
  std::vector<std::string> choices;  // kEnum: allowed values, snake_case
  bool required = false;
  MergePolicy merge = MergePolicy::kRegister;
};

class TableSchema {
 public:
  // The schema of a table; built on first use, lives for the whole process.
  static const TableSchema& Of(Table table);

  Table table() const { return table_; }
  const std::vector<FieldSpec>& fields() const { return fields_; }
  // The spec of a field, or nullptr if the table has no such field.
  const FieldSpec* Find(std::string_view name) const;
  // The merge policy of a field; kRegister for a name the table lacks (owner, deleted).
  MergePolicy PolicyOf(std::string_view name) const;

 private:
  explicit TableSchema(Table table);
  Table table_;
  std::vector<FieldSpec> fields_;
};

// "idNumber" -> "id_number"
std::string SnakeCase(std::string_view camel);

}  // namespace stationsync
