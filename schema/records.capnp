# The four record tables: the single source of truth for their fields.
#
# sync/records/table_schema.cc reads these structs through Cap'n Proto reflection, so adding a field here
# is all it takes to store, validate and print it. JSON names are the snake_case form of the
# camelCase names below (idNumber -> id_number, movedOut -> moved_out).
#
# Evolution: only append fields with higher ordinals; never renumber or retype.
@0xd3cea9a1964e4cbb;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("stationsync::schema");

# Must be present (non-null) in every stored record of the table.
annotation required @0xbfb38ae33a7dc11f (field) :Void;

# How a Text field is checked beyond "non-empty text".
annotation format @0xf6b51be0fcd6220f (field) :Format;

# How concurrent writes to a field merge (sync/records/merge_policy.h); without it, `register`.
annotation merge @0xa1c3e5d7b9f20486 (field) :MergePolicy;

enum MergePolicy {
  register @0;   # the newest write wins; a concurrent write it had not seen is a conflict
  set @1;        # a list as a set: concurrent additions and removals all take effect; an element
                 # added again at one node while another removed it stays, listed as a conflict
  append @2;     # text that only grows: concurrent appends all kept, ordered by stamp
  lifecycle @3;  # an enum whose order is a lifecycle: concurrent writes keep the furthest stage;
                 # going back (a reopen) wins over what it saw, and a concurrent reopen is a
                 # conflict
}

enum Format {
  plain @0;       # any non-empty text up to 1,000 bytes
  code @1;        # unit code, police number, case number, household: [A-Za-z0-9_-]{1,40}
  idNumber @2;    # GB 11643 citizen id number; a legacy 15-digit one is upgraded to 18 digits
  date @3;        # YYYY-MM-DD, a real date
  dateTime @4;    # ISO 8601 date and time, e.g. 2024-03-01T08:30:00Z or ...+08:00
  areaCode @5;    # 12-digit statistical division code
  phone @6;       # digits, spaces, '+' and '-', 3 to 20 characters
  longText @7;    # any text up to 64 KiB
  curveKey @8;    # a CurveZMQ public key: 40 characters of Z85 text
}

enum Sex { male @0; female @1; }

struct Unit {
  name @0 :Text $required;
  kind @1 :Kind $required;
  parent @2 :Text $format(code);
  status @3 :Status;
  mergedInto @4 :Text $format(code);
  publicKey @5 :Text $format(curveKey);  # the station's enrolled CURVE key (syncctl unit enroll):
                                         # the hub admits a sync link with this key only

  enum Kind { bureau @0; station @1; suboffice @2; department @3; patrol @4; traffic @5; }
  enum Status { active @0; merged @1; retired @2; }
}

struct Personnel {
  name @0 :Text $required;
  idNumber @1 :Text $format(idNumber);
  sex @2 :Sex;
  role @3 :Role $required;
  rank @4 :Text;
  post @5 :Text;
  phone @6 :Text $format(phone);
  status @7 :Status;

  enum Role { officer @0; auxiliary @1; civilian @2; }
  enum Status { active @0; transferred @1; retired @2; }
}

struct Case {
  kind @0 :Kind $required;
  title @1 :Text $required;
  status @2 :Status $required $merge(lifecycle);
  reportedAt @3 :Text $required $format(dateTime);
  area @4 :Text $format(areaCode);
  leadOfficer @5 :Text $format(code);
  involved @6 :List(Text) $format(idNumber) $merge(set);  # persons (id numbers), in order added
  notes @7 :Text $format(longText) $merge(append);

  enum Kind { criminal @0; administrative @1; traffic @2; }
  enum Status { received @0; filed @1; investigating @2; transferred @3; closed @4; }  # in order
}

struct Registration {
  name @0 :Text $required;
  sex @1 :Sex $required;
  ethnicity @2 :Text;
  birthDate @3 :Text $required $format(date);
  household @4 :Text $required $format(code);
  relation @5 :Relation $required;
  address @6 :Text;
  area @7 :Text $required $format(areaCode);
  status @8 :Status;
  mergedInto @9 :Text $format(idNumber);  # on a tombstone only: the registration this duplicate
                                          # was merged into (syncctl person merge)

  enum Relation { head @0; spouse @1; child @2; parent @3; sibling @4; other @5; }
  enum Status { active @0; movedOut @1; deceased @2; cancelled @3; }
}
