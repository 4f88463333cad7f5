# The stored envelope: how a record, a change and a history entry are kept in RocksDB and carried
# over the wire. Table fields are kept generically (name -> value + stamp, and for the merge
# policies of records.capnp each element's stamp or a lifecycle's epoch); records.capnp says which
# names and values are valid and how each field merges.
#
# Evolution: only append fields with higher ordinals; never renumber or retype.
@0x8dea32c46705eeb9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("stationsync::schema");

enum Table { unit @0; personnel @1; case @2; registration @3; }

# A hybrid logical clock reading and the node that made it. Ordered by (hlc, node).
struct Stamp {
  hlc @0 :UInt64;   # physical milliseconds << 16 | logical counter
  node @1 :Text;
}

struct Value {
  union {
    null @0 :Void;        # cleared (a field tombstone: it still carries a stamp)
    text @1 :Text;
    list @2 :List(Text);
  }
}

struct Field {
  name @0 :Text;
  value @1 :Value;
  stamp @2 :Stamp;      # the write that set this value (its "dot": node and HLC reading)
  actor @3 :Text;       # who made that write
}

# The part of a field's state that its merge policy keeps beyond value and stamp, for the fields
# that have any (a register has none: kept apart, so registers cost no bytes for it).
struct FieldPolicy {
  name @0 :Text;                 # the field
  elements @1 :List(Element);    # set and append fields: every element with its dot, sorted
  removed @2 :List(Element);     # set fields: each node's latest removal of each element
  epoch @3 :UInt32;              # lifecycle fields: reopens this value is after
}

# An element of a set field or a piece of an append field, with the write that added it.
struct Element {
  text @0 :Text;
  stamp @1 :Stamp;
  actor @2 :Text;
}

# One entry of a version vector: the newest write of `node` that a record state includes.
struct Seen {
  node @0 :Text;
  hlc @1 :UInt64;
}

# A record, or (in a change) the part of a record that one write changed.
struct Record {
  table @0 :Table;
  id @1 :Text;
  owner @2 :Text;
  ownerStamp @3 :Stamp;
  deleted @4 :Bool;
  deletedStamp @5 :Stamp;
  fields @6 :List(Field);   # sorted by name, names unique
  updated @7 :Stamp;        # the newest stamp in the record
  actor @8 :Text;           # who made the newest change
  seen @9 :List(Seen);      # version vector: every write this state includes (sorted by node)
  policies @10 :List(FieldPolicy);  # by field name: the fields with policy state (null: none)
}

# One entry of the local change log, keyed by its big-endian sequence number.
struct Change {
  seq @0 :UInt64;
  delta @1 :Record;
  origin @2 :Text;          # the node that delivered it: the writer, or (at the hub) the station
  owners @3 :List(Text);    # the record's owner after the change, and before it if different:
                            # every unit whose scope the change touches (a transfer, two)
  echo @4 :Bool;            # at the hub: a station's write that had not seen the record's
                            # latest transfer, sent back to that station too (it may have
                            # evicted the record since, and taken it back without this write)
  namesRecord @5 :Bool;     # stored log entries only: the delta is the record as this change
                            # left it, whole, so only its table, id, owner and updated are stored
                            # and the rest is read from the record (sync/storage/replica.h,
                            # invariant 7)
}

struct FieldChange {
  name @0 :Text;
  old @1 :Value;
  new @2 :Value;
  added @3 :List(Element);  # set and append fields: the elements it added, with their authors
}

# One entry of a record's history: who changed which fields, where and when.
struct HistoryEntry {
  at @0 :Stamp;
  actor @1 :Text;
  changes @2 :List(FieldChange);
}

# A concurrent write that lost to another on one register (sync/records/merge.h), kept until resolved.
struct ConflictSide {
  value @0 :Value;
  stamp @1 :Stamp;
  actor @2 :Text;
}

struct Conflict {
  table @0 :Table;
  id @1 :Text;
  field @2 :Text;
  kept @3 :ConflictSide;
  lost @4 :ConflictSide;
}

# Where a peer's stream stands (meta "peer/<peer>"), valid within the peer store's epoch.
struct PeerPosition {
  epoch @0 :Text;
  cursor @1 :UInt64;
  stamp @2 :Stamp;    # the stamp of the peer's change at `cursor`
}
