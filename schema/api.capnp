# The local API between syncd and its clients (syncctl, station applications), carried as one
# Cap'n Proto message per ZeroMQ frame over DEALER -> ROUTER. Every request carries an id that its
# response repeats, so a client may pipeline.
#
# Evolution: only append fields and union members with higher ordinals.
@0xcdd7ed126551c770;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("stationsync::schema");

using Store = import "store.capnp";

const apiVersion :UInt32 = 7;  # 2: sync status, conflicts; 3: digests, merges, transfers,
                               # remote look-ups, a station's scope; 4: keys and refusals in status;
                               # 5: backups; 6: verify; 7: person merges, redirected reads

# What went wrong, in terms of what the caller should do; tools map it to their exit code.
enum Code {
  ok @0;
  notFound @1;     # exit 1
  invalid @2;      # exit 2: fix the input
  unavailable @3;  # exit 3: retry later
  refused @4;      # exit 4: not permitted / out of scope
  internal @5;     # exit 5: storage or internal error; an operator must look
}

struct Key {
  table @0 :Store.Table;
  id @1 :Text;
}

struct FieldInput {
  name @0 :Text;
  value @1 :Store.Value;
}

struct Put {
  table @0 :Store.Table;
  id @1 :Text;
  owner @2 :Text;                  # empty: keep the current owner, or the node's unit on create
  fields @3 :List(FieldInput);     # set these; leave the others as they are
}

struct ListQuery {
  table @0 :Store.Table;
  hasTable @1 :Bool;               # false: every table (export)
  owner @2 :Text;                  # empty: any owner
  household @3 :Text;              # empty: any household (registration only)
  after @4 :Text;                  # resume after this opaque cursor; empty: from the start
  limit @5 :UInt32;                # at most this many records in the page (0: server default)
}

struct Request {
  id @0 :UInt64;
  actor @1 :Text;                  # police number or application name; required for writes
  union {
    ping @2 :Void;
    put @3 :Put;
    get @4 :Key;
    del @5 :Key;
    list @6 :ListQuery;
    history @7 :Key;
    putBatch @8 :List(Put);        # all or nothing, one durable commit
    status @9 :Void;
    conflicts @10 :Void;           # the open conflicts
    resolveConflict @11 :ResolveConflict;  # a write: answered with the record, like put
    digest @12 :Text;              # the scope digest of a unit's group (empty: a station's own);
                                   # answered with digest
    merge @13 :MergeRequest;       # hub only, a write: answered with batch (the unit records)
    unmerge @14 :Text;             # hub only, a write: a unit code; answered with its record
    transfer @15 :TransferRequest; # hub only, a write: answered with the record
    getRemote @16 :Key;            # a station asks the hub (read only); the hub reads its own
    backup @17 :Text;              # an absolute directory, new or empty: a consistent copy of
                                   # the store and the node's key pair; answered with backup
    verify @18 :VerifyRequest;     # a station compares its replica with the hub's view of its
                                   # scope (sync/admin/verify_walk.h); answered with verify
    personMerge @19 :PersonMergeRequest;    # hub only, a write unless dryRun
                                            # (sync/admin/person_merge.h); answered with personMerge
    personUnmerge @20 :PersonMergeRequest;  # hub only, the same; `keep` is not used
  }
  withoutRecords @21 :Bool;        # putBatch: answer with the status only, not the stored records
                                   # (syncctl import has no use for them; a daemon that predates
                                   # this field answers with them, which the client ignores)
}

struct PersonMergeRequest {
  keep @0 :Text;                   # citizen id numbers
  duplicate @1 :Text;
  dryRun @2 :Bool;                 # plan and answer, write nothing
}

# What a person merge or unmerge changed (or, dry run, would change), record by record.
struct PersonMergeReport {
  keep @0 :Text;                   # canonical id numbers
  duplicate @1 :Text;
  dryRun @2 :Bool;
  edits @3 :List(RecordEdit);
}

struct RecordEdit {
  table @0 :Store.Table;
  id @1 :Text;
  changes @2 :List(Store.FieldChange);
}

struct VerifyRequest {
  deep @0 :Bool;                   # recompute the station's sums from its stored records
  repair @1 :Bool;                 # make the differing records equal to the hub's, then verify again
  station @2 :Text;                # at the hub: the station unit that is to verify ("" at a station)
}

# A station's last verify, as the hub keeps it (sync/protocol/verify_report.h LastVerify).
struct LastVerify {
  atMs @0 :Int64;                  # the hub's wall clock when the station reported
  deep @1 :Bool;
  repair @2 :Bool;
  records @3 :UInt64;
  differences @4 :UInt64;
  repaired @5 :UInt64;
  remaining @6 :UInt64;
  error @7 :Text;                  # why it failed ("" if it did not)
}

# One record that differs between a station and the hub.
struct VerifyDifference {
  table @0 :Store.Table;
  id @1 :Text;
  station @2 :Text;                # the station's version ("" with hasStation false: none)
  hasStation @3 :Bool;
  hub @4 :Text;                    # the hub's version
  hasHub @5 :Bool;
}

struct VerifyReport {
  differences @0 :List(VerifyDifference);  # as found (before any repair)
  records @1 :UInt64;              # records of the scope at the station, tombstones included
  bytesExchanged @2 :UInt64;       # sync messages of the verify, both ways (and of the repair)
  ms @3 :UInt64;
  truncated @4 :Bool;              # the walk stopped at its limit of differences
  repair @5 :Bool;                 # a repair was asked for: the fields below are set
  repaired @6 :UInt64;             # records made equal to the hub's
  remaining @7 :UInt64;            # differences the verify after the repair found
}

# Merges units into `into` (sync/protocol/regroup.h): one write, all members or none.
struct MergeRequest {
  into @0 :Text;
  members @1 :List(Text);
  asSuboffice @2 :Bool;            # the members' kind becomes suboffice
}

# Hands a record over to another unit: its owner becomes `to`.
struct TransferRequest {
  table @0 :Store.Table;
  id @1 :Text;
  to @2 :Text;
}

# The digest of the records owned by a group of units (sync/storage/digest.h).
struct ScopeDigest {
  scope @0 :List(Text);            # unit codes, sorted
  records @1 :UInt64;              # records they own, tombstones included
  root @2 :Text;                   # 64 hex digits
}

# Resolves an open conflict by writing one of its values (or a new one) to its register, as an
# ordinary write by the request's actor; that write closes the conflict (sync/storage/replica.h).
struct ResolveConflict {
  id @0 :Text;                     # the conflict's key, as `syncctl conflicts` prints it
  union {
    takeKept @1 :Void;             # the value that won the merge
    takeLost @2 :Void;             # the value that lost it
    value @3 :Store.Value;         # another value
  }
}

struct RecordPage {
  records @0 :List(Store.Record);
  next @1 :Text;                   # cursor for the next page; empty: no more
}

struct NodeStatus {
  role @0 :Text;
  unit @1 :Text;
  node @2 :Text;
  records @3 :UInt64;
  pendingUp @4 :UInt64;
  hubConnected @5 :Bool;
  lastSeq @6 :UInt64;
  apiVersion @7 :UInt32;
  lagRecords @8 :UInt64;           # station: hub changes in its scope it does not hold yet
  conflictsOpen @9 :UInt64;
  stations @10 :List(StationLink); # hub: one per station unit of the registry, by unit code
  scope @11 :List(Text);           # station: the units whose records it holds (its group); hub:
                                   # empty
  publicKey @12 :Text;             # this node's CURVE public key ("" when --insecure)
  hubRefusal @13 :Text;            # station: why the hub refused its link or key ("" if not)
  clockAheadMs @14 :Int64;         # station: its clock minus the hub's, as last measured
  refusedUnknownKeyTotal @15 :UInt64;  # hub: handshakes with a key no station holds
  refusedHandshakeTotal @16 :UInt64;   # hub: handshakes failed before a key (plaintext, ...)
  lastHandshakeRefusal @17 :Text;      # hub: the newest of either, in words
}

# The hub's view of one station (sync/protocol/sync_status.h).
struct StationLink {
  unit @0 :Text;
  connected @1 :Bool;
  lastSeenMs @2 :UInt64;           # milliseconds since last heard from (0: never)
  lagRecords @3 :UInt64;
  pendingUp @4 :UInt64;
  upTotal @5 :UInt64;
  downTotal @6 :UInt64;
  rejectedTotal @7 :UInt64;
  neverSeen @8 :Bool;
  scope @9 :List(Text);            # the units of its group (merged stations share one)
  key @10 :Text;                   # its enrolled CURVE public key ("" if none)
  refusedTotal @11 :UInt64;        # its links or batches refused since the hub started
  lastRefusal @12 :Text;           # the newest refusal, in words
  lastVerify @13 :LastVerify;      # with hasLastVerify: its last verify since the hub started
  hasLastVerify @14 :Bool;
}

struct BatchError {
  index @0 :UInt32;
  message @1 :Text;
}

struct Response {
  id @0 :UInt64;
  code @1 :Code;
  message @2 :Text;
  union {
    none @3 :Void;
    record @4 :Store.Record;
    page @5 :RecordPage;
    history @6 :List(Store.HistoryEntry);
    status @7 :NodeStatus;
    batch @8 :List(Store.Record);  # putBatch: the stored records, in request order
    errors @9 :List(BatchError);   # putBatch refused: every invalid item
    conflicts @10 :List(Store.Conflict);  # conflicts: every open one, by record
    digest @11 :ScopeDigest;       # digest
    backup @12 :BackupReport;      # backup
    verify @13 :VerifyReport;      # verify
    personMerge @14 :PersonMergeReport;  # personMerge, personUnmerge
  }
  redirectedFrom @15 :Text;        # get, put: the id number asked for, when it was merged into
                                   # the registration answered with ("" otherwise)
}

# What a backup wrote (daemon/backup.h). Restoring is starting syncd on a copy of `path`.
struct BackupReport {
  path @0 :Text;                   # the directory, absolute
  files @1 :UInt64;                # regular files written under it
  bytes @2 :UInt64;                # their total size
  logPosition @3 :UInt64;          # the store's last log sequence in the copy
  keyPair @4 :Bool;                # the node's certificate files are in it (false: --insecure)
}
