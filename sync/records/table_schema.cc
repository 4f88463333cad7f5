#include "sync/records/table_schema.h"

#include <cassert>

#include <capnp/schema.h>

#include "schema/records.capnp.h"

namespace stationsync {
namespace {

// Annotation ids declared in schema/records.capnp.
constexpr uint64_t kRequiredAnnotation = 0xbfb38ae33a7dc11full;
constexpr uint64_t kFormatAnnotation = 0xf6b51be0fcd6220full;
constexpr uint64_t kMergeAnnotation = 0xa1c3e5d7b9f20486ull;

capnp::StructSchema StructFor(Table table) {
  switch (table) {
    case Table::kUnit:
      return capnp::Schema::from<schema::Unit>();
    case Table::kPersonnel:
      return capnp::Schema::from<schema::Personnel>();
    case Table::kCase:
      return capnp::Schema::from<schema::Case>();
    case Table::kRegistration:
      return capnp::Schema::from<schema::Registration>();
  }
  assert(false);
  return capnp::Schema::from<schema::Unit>();
}

FieldSpec SpecFor(capnp::StructSchema::Field field) {
  FieldSpec spec;
  spec.name = SnakeCase(field.getProto().getName().cStr());
  const capnp::Type type = field.getType();
  if (type.isText()) {
    spec.kind = FieldKind::kText;
  } else if (type.isList() && type.asList().getElementType().isText()) {
    spec.kind = FieldKind::kTextList;
  } else if (type.isEnum()) {
    spec.kind = FieldKind::kEnum;
    for (auto enumerant : type.asEnum().getEnumerants()) {
      spec.choices.push_back(SnakeCase(enumerant.getProto().getName().cStr()));
    }
  } else {
    assert(false && "records.capnp fields are Text, List(Text) or enums");
  }
  for (auto annotation : field.getProto().getAnnotations()) {
    if (annotation.getId() == kRequiredAnnotation) spec.required = true;
    if (annotation.getId() == kFormatAnnotation) {
      spec.format = static_cast<FieldFormat>(annotation.getValue().getEnum());
    }
    if (annotation.getId() == kMergeAnnotation) {
      spec.merge = static_cast<MergePolicy>(annotation.getValue().getEnum());
    }
  }
  // The policies' preconditions on the field's type, checked once when the schema is read.
  assert(spec.merge != MergePolicy::kSet || spec.kind == FieldKind::kTextList);
  assert(spec.merge != MergePolicy::kAppend || spec.kind == FieldKind::kText);
  assert(spec.merge != MergePolicy::kLifecycle || spec.kind == FieldKind::kEnum);
  return spec;
}

}  // namespace

std::string SnakeCase(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

TableSchema::TableSchema(Table table) : table_(table) {
  for (auto field : StructFor(table).getFields()) fields_.push_back(SpecFor(field));
}

const TableSchema& TableSchema::Of(Table table) {
  static const TableSchema kSchemas[] = {TableSchema(Table::kUnit), TableSchema(Table::kPersonnel),
                                         TableSchema(Table::kCase),
                                         TableSchema(Table::kRegistration)};
  return kSchemas[static_cast<size_t>(table)];
}

const FieldSpec* TableSchema::Find(std::string_view name) const {
  for (const auto& f : fields_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

MergePolicy TableSchema::PolicyOf(std::string_view name) const {
  const FieldSpec* spec = Find(name);
  return spec == nullptr ? MergePolicy::kRegister : spec->merge;
}

}  // namespace stationsync
