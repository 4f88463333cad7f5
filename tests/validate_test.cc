// Table tests of record validation: id numbers (GB 11643), dates, enums, required fields and
// the rules across fields. Each bad case asserts the field and reason the error names.
#include "sync/records/validate.h"

#include <functional>

#include <gtest/gtest.h>

#include "sync/records/calendar.h"
#include "sync/records/id_number.h"
#include "sync/records/local_write.h"
#include "sync/records/merge_policy.h"
#include "sync/records/table_schema.h"

namespace stationsync {
namespace {

Value Text(const char* s) {
  return Value(std::string(s));
}

RecordPatch Resident(const std::string& id) {
  return {Table::kRegistration,
          id,
          "P01",
          {{"name", Text("王伟")},
           {"sex", Text("male")},
           {"birth_date", Text("1987-05-12")},
           {"household", Text("H1")},
           {"relation", Text("head")},
           {"area", Text("370724001001")}}};
}

TEST(IdNumber, CheckCharacterFollowsIso7064) {
  // Worked example from GB 11643-1999: 11010519491231002X.
  EXPECT_EQ(IdCheckCharacter("11010519491231002"), 'X');
  EXPECT_EQ(IdCheckCharacter("37072419870512341"), '4');
}

struct IdCase {
  const char* text;
  bool ok;
  const char* expected;  // canonical form when ok, a word of the error otherwise
};

void PrintTo(const IdCase& c, std::ostream* os) {
  *os << c.text;
}

class IdNumberTable : public ::testing::TestWithParam<IdCase> {};

TEST_P(IdNumberTable, ParsesOrNamesTheProblem) {
  const IdCase& c = GetParam();
  auto id = ParseIdNumber(c.text);
  ASSERT_EQ(id.ok(), c.ok) << c.text << ": " << id.status().message();
  if (c.ok) {
    EXPECT_EQ(id->digits, c.expected);
  } else {
    EXPECT_EQ(id.status().code(), Code::kInvalid);
    EXPECT_NE(id.status().message().find(c.expected), std::string::npos) << id.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IdNumberTable,
    ::testing::Values(IdCase{"11010519491231002X", true, "11010519491231002X"},
                      IdCase{"11010519491231002x", true, "11010519491231002X"},  // lower-case x
                      IdCase{"370724198705123414", true, "370724198705123414"},
                      IdCase{"370724198705123412", false, "check character"},
                      IdCase{"370724198702303418", false, "birth date"},  // Feb 30
                      IdCase{"370724198713013411", false, "birth date"},  // month 13
                      IdCase{"37072419870512341", false, "18 characters"},
                      IdCase{"37072419870512341A", false, "17 digits"},
                      IdCase{"3707241987051234X4", false, "17 digits"},
                      // Legacy 15-digit numbers upgrade to 18 digits (19YY, computed check).
                      IdCase{"370724870512341", true, "370724198705123414"},
                      IdCase{"110105491231002", true, "11010519491231002X"},
                      IdCase{"37072487051234A", false, "all digits"},
                      IdCase{"370724870230341", false, "birth date"}));

TEST(IdNumber, SexDigitIsOddForMen) {
  EXPECT_TRUE(ParseIdNumber("370724198705123414")->male);
  EXPECT_FALSE(ParseIdNumber("11010519491231002X")->male);
  const std::string made = MakeIdNumber("370724", {2001, 2, 28}, 7, /*male=*/false);
  auto parsed = ParseIdNumber(made);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_FALSE(parsed->male);
  EXPECT_EQ(parsed->birth_date, (Date{2001, 2, 28}));
  const std::string born_1960 = MakeIdNumber("370724", {1960, 1, 31}, 42, /*male=*/true);
  EXPECT_TRUE(ParseIdNumber(born_1960)->male);
  EXPECT_EQ(ParseIdNumber(LegacyIdNumber(born_1960))->digits, born_1960);
}

TEST(Calendar, RealDatesOnly) {
  EXPECT_TRUE(ParseDate("2000-02-29"));
  EXPECT_FALSE(ParseDate("1900-02-29"));  // not a leap year
  EXPECT_FALSE(ParseDate("2023-04-31"));
  EXPECT_FALSE(ParseDate("2023-4-1"));
  EXPECT_EQ(ParseDateTimeMs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseDateTimeMs("1970-01-01T08:00:00+08:00"), 0);
  EXPECT_EQ(ParseDateTimeMs("2024-03-01T08:30:00.250Z"), int64_t{1709281800250});
  EXPECT_FALSE(ParseDateTimeMs("2024-03-01T08:30:00"));  // no zone
  EXPECT_FALSE(ParseDateTimeMs("2024-02-30T08:30:00Z"));
  EXPECT_EQ(FormatUtcMs(1709281800250), "2024-03-01T08:30:00.250Z");
}

TEST(TableSchema, ComesFromTheCapnpSchema) {
  const auto& registration = TableSchema::Of(Table::kRegistration);
  const FieldSpec* relation = registration.Find("relation");
  ASSERT_NE(relation, nullptr);
  EXPECT_EQ(relation->kind, FieldKind::kEnum);
  EXPECT_TRUE(relation->required);
  const FieldSpec* status = registration.Find("status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->choices,
            (std::vector<std::string>{"active", "moved_out", "deceased", "cancelled"}));
  EXPECT_EQ(registration.Find("birth_date")->format, FieldFormat::kDate);
  EXPECT_EQ(TableSchema::Of(Table::kCase).Find("involved")->kind, FieldKind::kTextList);
  EXPECT_EQ(TableSchema::Of(Table::kUnit).Find("merged_into")->format, FieldFormat::kCode);
  for (Table table : kAllTables) {
    bool any_required = false;
    for (const auto& field : TableSchema::Of(table).fields()) any_required |= field.required;
    EXPECT_TRUE(any_required) << TableName(table);
  }
}

struct RecordCase {
  const char* name;
  const char* field;           // field to set (nullptr: none)
  std::optional<Value> value;  // nullopt: remove the field from the patch
  const char* error;           // nullptr: valid; else a substring of the error
};

void PrintTo(const RecordCase& c, std::ostream* os) {
  *os << c.name;
}

class RegistrationTable : public ::testing::TestWithParam<RecordCase> {};

TEST_P(RegistrationTable, ValidatesOrNamesFieldAndReason) {
  const RecordCase& c = GetParam();
  RecordPatch patch = Resident("370724198705123414");
  if (c.field != nullptr) {
    if (c.value) {
      patch.fields[c.field] = *c.value;
    } else {
      patch.fields.erase(c.field);
    }
  }
  auto record = RecordFromPatch(patch, "P01");
  if (c.error == nullptr) {
    EXPECT_TRUE(record.ok()) << record.status().message();
  } else {
    ASSERT_FALSE(record.ok());
    EXPECT_EQ(record.status().code(), Code::kInvalid);
    EXPECT_NE(record.status().message().find(c.error), std::string::npos)
        << record.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegistrationTable,
    ::testing::Values(
        RecordCase{"valid", nullptr, std::nullopt, nullptr},
        RecordCase{"status", "status", Text("moved_out"), nullptr},
        RecordCase{"bad_enum", "status", Text("gone"), "field status: 'gone' is not one of"},
        RecordCase{"bad_relation", "relation", Text("cousin"), "field relation"},
        RecordCase{"missing_name", "name", std::nullopt, "field name: is required"},
        RecordCase{"null_name", "name", Value{}, "field name: is required"},
        RecordCase{"impossible_date", "birth_date", Text("1987-02-30"),
                   "field birth_date: '1987-02-30' is not a real date"},
        RecordCase{"date_disagrees", "birth_date", Text("1987-05-13"),
                   "field birth_date: 1987-05-13 disagrees with id number"},
        RecordCase{"sex_disagrees", "sex", Text("female"), "field sex: female disagrees"},
        RecordCase{"bad_area", "area", Text("3707"), "field area"},
        RecordCase{"bad_household", "household", Text("H 1"), "field household"},
        RecordCase{"list_for_text", "name", Value(std::vector<std::string>{"a"}),
                   "field name: must be a string"},
        RecordCase{"empty_text", "address", Text(""), "field address: is empty"},
        RecordCase{"unknown_field", "colour", Text("red"),
                   "field colour: table registration "
                   "has no such field"},
        RecordCase{"bad_utf8", "address", Text("\xff\xfe"), "not valid UTF-8"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(Validate, LegacyRegistrationIdIsStoredAsEighteenDigits) {
  auto record = RecordFromPatch(Resident("370724870512341"), "P01");
  ASSERT_TRUE(record.ok()) << record.status().message();
  EXPECT_EQ(record->id, "370724198705123414");
}

TEST(Validate, RegistrationIdMustBeAValidIdNumber) {
  auto record = RecordFromPatch(Resident("370724198705123412"), "P01");
  ASSERT_FALSE(record.ok());
  EXPECT_NE(record.status().message().find("id: id number"), std::string::npos);
}

// A case of P01 involving one person (`involved` as given).
RecordPatch ACase(const std::string& involved) {
  return {Table::kCase,
          "A2024-0001",
          "P01",
          {{"kind", Text("criminal")},
           {"title", Text("盗窃电动车")},
           {"status", Text("filed")},
           {"reported_at", Text("2024-03-01T08:30:00+08:00")},
           {"involved", Value(std::vector<std::string>{involved})}}};
}

TEST(Validate, CaseFields) {
  RecordPatch c = ACase("370724870512341");
  auto record = RecordFromPatch(c, "P01");
  ASSERT_TRUE(record.ok()) << record.status().message();
  EXPECT_EQ(record->fields.at("involved").value,
            Value(std::vector<std::string>{"370724198705123414"}));  // upgraded

  c.fields["involved"] = Value(std::vector<std::string>{"370724198705123412"});
  EXPECT_NE(RecordFromPatch(c, "P01").status().message().find("field involved"), std::string::npos);
  c.fields["involved"] = Value{};
  c.fields["reported_at"] = Text("yesterday");
  EXPECT_NE(RecordFromPatch(c, "P01").status().message().find("field reported_at"),
            std::string::npos);
  c.fields["reported_at"] = Text("2024-03-01T08:30:00Z");
  c.fields.erase("title");
  EXPECT_NE(RecordFromPatch(c, "P01").status().message().find("field title: is required"),
            std::string::npos);
}

TEST(TableSchema, MergePoliciesComeFromTheSchema) {
  const auto& cases = TableSchema::Of(Table::kCase);
  EXPECT_EQ(cases.Find("involved")->merge, MergePolicy::kSet);
  EXPECT_EQ(cases.Find("notes")->merge, MergePolicy::kAppend);
  EXPECT_EQ(cases.Find("status")->merge, MergePolicy::kLifecycle);
  EXPECT_EQ(cases.Find("status")->choices,
            (std::vector<std::string>{"received", "filed", "investigating", "transferred",
                                      "closed"}));  // the lifecycle's order
  EXPECT_EQ(cases.Find("title")->merge, MergePolicy::kRegister);
  EXPECT_EQ(cases.PolicyOf("owner"), MergePolicy::kRegister);
}

// A received set or append field must be well-formed: elements sorted and unique, none newer than
// the field, each in the sender's version vector, and the value the one they give.
TEST(Validate, ARemoteChangesElementsMustBeWellFormed) {
  RecordPatch c = ACase("370724198705123414");
  c.fields["notes"] = Text("甲");
  auto plan = PlanPut(std::nullopt, c, Stamp{100, "P01"}, "officer", "P01");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const Record good = plan->change.delta;
  ASSERT_TRUE(ValidateRemoteChange(good).ok()) << ValidateRemoteChange(good).message();
  ASSERT_EQ(good.fields.at("involved").elements.size(), 1u);

  auto refused = [&good](const std::function<void(Record&)>& spoil, const char* reason) {
    Record bad = good;
    spoil(bad);
    const Status status = ValidateRemoteChange(bad);
    EXPECT_FALSE(status.ok()) << reason;
    EXPECT_NE(status.message().find(reason), std::string::npos) << status.message();
  };
  const Element other{"370724198503090116", Stamp{90, "P01"}, "officer"};
  refused([&](Record& r) { r.fields["involved"].elements.push_back(other); },
          "elements are not sorted");
  refused(
      [](Record& r) {
        r.fields["involved"].elements[0].stamp = Stamp{200, "P01"};
      },
      "newer than the field");
  refused(
      [](Record& r) {
        r.fields["involved"].elements[0].stamp = Stamp{50, "HUB"};
      },
      "not in the version vector");
  refused([](Record& r) { r.fields["notes"].value = Text("乙"); }, "not the one its elements give");
  refused([&](Record& r) { r.fields["notes"].removed.push_back(other); }, "not a set field");
  refused([&](Record& r) { r.fields["title"].elements.push_back(other); },
          "not a set or append field");
  refused([](Record& r) { r.fields["title"].epoch = 1; }, "not a lifecycle");
  refused([](Record& r) { r.fields["status"].epoch = kReopensMax + 1; }, "reopens");
}

// A record taken whole from a peer (FieldStates::kPassedAsChange) skips only the checks of each
// field's own state, which ValidateRemoteChange made: required fields and rules across fields
// still apply.
TEST(Validate, ARecordWhoseFieldsPassedAsAChangeIsCheckedForTheRest) {
  auto plan =
      PlanPut(std::nullopt, ACase("370724198705123414"), Stamp{100, "P01"}, "officer", "P01");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  Record record = plan->record;
  ASSERT_TRUE(ValidateRecord(record, FieldStates::kPassedAsChange).ok());

  Record uncanonical = record;  // a field state ValidateRemoteChange would have refused
  uncanonical.fields["involved"].value = Value(std::vector<std::string>{"370724870512341"});
  EXPECT_FALSE(ValidateRecord(uncanonical).ok());
  EXPECT_TRUE(ValidateRecord(uncanonical, FieldStates::kPassedAsChange).ok());

  Record untitled = record;
  untitled.fields.erase("title");
  const Status status = ValidateRecord(untitled, FieldStates::kPassedAsChange);
  EXPECT_NE(status.message().find("field title: is required"), std::string::npos)
      << status.message();
  Record ownerless = record;
  ownerless.owner = "";
  EXPECT_FALSE(ValidateRecord(ownerless, FieldStates::kPassedAsChange).ok());
}

TEST(Validate, CodesAndPersonnel) {
  EXPECT_TRUE(IsCode("P01"));
  EXPECT_TRUE(IsCode("370724-510_000"));
  EXPECT_FALSE(IsCode(""));
  EXPECT_FALSE(IsCode(std::string(41, 'a')));
  EXPECT_FALSE(IsCode("P/01"));
  RecordPatch officer{Table::kPersonnel,
                      "372301",
                      "P01",
                      {{"name", Text("张强")},
                       {"role", Text("officer")},
                       {"sex", Text("female")},
                       {"id_number", Text("370724198705123414")}}};
  EXPECT_NE(RecordFromPatch(officer, "P01").status().message().find("field sex"),
            std::string::npos);
  officer.fields["sex"] = Text("male");
  EXPECT_TRUE(RecordFromPatch(officer, "P01").ok());
  officer.id = "bad id";
  EXPECT_NE(RecordFromPatch(officer, "P01").status().message().find("id: 'bad id'"),
            std::string::npos);
  officer.id = "372301";
  officer.owner = "";
  EXPECT_NE(RecordFromPatch(officer, "").status().message().find("owner"), std::string::npos);
}

}  // namespace
}  // namespace stationsync
