# The sync protocol between a station (DEALER) and the hub (ROUTER): one SyncMessage per ZeroMQ
# frame, asynchronous both ways. Every message carries the link id that the station chose for the
# connection; either side drops messages of another link, so nothing from an old connection is
# ever taken for the current one.
#
# Streams (see sync/protocol/station_session.h and sync/protocol/hub_session.h):
#  up    station log -> hub. Up{from,to} carries the station's own changes with sequence numbers
#        in (from, to]; UpAck{cursor} says the hub holds them durably.
#  down  hub log -> station. Down{from,to} carries the current state of every record in the
#        station's scope changed in the hub's log range (from, to]; the station stores `to` in the
#        same batch as the records and answers DownAck{cursor}.
#  snapshot and offer: whole states, sent in pages, when a cursor is not valid any more (an empty
#        or far-behind station, a changed store on either side).
# Credit: each side keeps at most `window` batches unacknowledged.
#
# Evolution: only append fields and union members with higher ordinals.
@0xa8a5e2c3cbd0e4f1;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("stationsync::schema");

using Store = import "store.capnp";

# Station -> hub: the first message of every link.
struct Hello {
  protocol @0 :UInt32;
  unit @1 :Text;              # the station's unit; under CURVE it must be the unit its key is
                              # enrolled for (identity comes from the key, never from here)
  node @2 :Text;
  epoch @3 :Text;             # the station store's epoch: the hub's up cursor is valid within it
  lastSeq @4 :UInt64;         # the end of the station's log
  hubEpoch @5 :Text;          # the hub store epoch that downCursor refers to ("" = none)
  downCursor @6 :UInt64;      # the hub log position the station holds everything up to
  downStamp @7 :Store.Stamp;  # the stamp of the hub's log entry at downCursor, to detect a hub
                              # restored from an older copy
  scope @8 :List(Text);       # the units whose records the station holds (its group as the hub
                              # last sent it); a hub whose registry says otherwise sends a snapshot
  clockMs @9 :Int64;          # the station's wall clock (ms since the epoch): a station too far
                              # ahead of the hub is refused (its stamps would be)
  partialSnapshots @10 :Bool; # the station understands Down.partial: when its scope changes and
                              # its cursor is valid, the hub sends only the owners it lacks
}

# Hub -> station: the link is accepted.
struct Welcome {
  hubEpoch @0 :Text;
  upCursor @1 :UInt64;        # the hub holds the station's changes up to this sequence
  upStamp @2 :Store.Stamp;    # the stamp of that change, to detect a station restored from a copy
  snapshot @3 :Bool;          # the station's down cursor is not valid: a snapshot follows
  offer @4 :Bool;             # the hub lost history the station may hold: offer every record
  window @5 :UInt32;
  hubClockMs @6 :Int64;       # the hub's wall clock, so the station knows its offset
}

# Hub -> station: the link is refused; the station logs the reason and retries slowly.
struct Refused {
  reason @0 :Text;
  helloAgain @1 :Bool;  # not a refusal of the unit: the hub has no session for this link (it
                        # restarted), so say hello again at once
  clockAheadMs @2 :Int64;  # refused because the station's clock is this far ahead of the hub's
}

struct Up {
  from @0 :UInt64;
  to @1 :UInt64;
  changes @2 :List(Store.Record);  # deltas (log stream) or whole states (offer pages)
  offer @3 :Bool;                  # an offer page: whole states, no cursor
  page @4 :UInt32;                 # offer: page number from 0
  last @5 :Bool;                   # offer: the final page
  toStamp @6 :Store.Stamp;         # log stream: the stamp of the change at `to`
}

struct UpAck {
  cursor @0 :UInt64;   # the hub holds the station's changes up to here
  page @1 :UInt32;     # offer: pages up to this one are stored (with offerAck)
  offerAck @2 :Bool;
  gap @3 :Bool;        # a batch did not start at cursor: resend from cursor
  rejected @4 :UInt32; # changes of this batch refused (out of scope or invalid)
}

struct Down {
  from @0 :UInt64;
  to @1 :UInt64;
  toStamp @2 :Store.Stamp;         # the stamp of the hub's log entry at `to`
  records @3 :List(Store.Record);  # whole states
  snapshot @4 :Bool;               # a snapshot page: from/to are set on the last page only
  page @5 :UInt32;
  last @6 :Bool;
  hubEpoch @7 :Text;
  scope @8 :List(Text);            # snapshot, last page: the station's scope from now on (it
                                   # evicts every record owned outside it)
  evict @9 :List(RecordRef);       # stream: records that left the station's scope (a transfer)
  snapshotId @10 :UInt64;          # snapshot: which snapshot the page belongs to (the hub starts
                                   # a new one when the station's scope changes mid-way); stream:
                                   # the last snapshot the hub started for the station, so that a
                                   # batch sent before a partial snapshot and delayed past it is
                                   # not applied under the new scope (0 from older hubs)
  upCovered @11 :UInt64;           # snapshot, last page: the station's log position the hub held
                                   # when the snapshot began; the station evicts a record no page
                                   # named unless it wrote it after that position
  partial @12 :Bool;               # snapshot: the pages list only the owners in `covered` (the
                                   # ones the station lacked), as of `to`, which is the station's
                                   # own down cursor; its other records it keeps, and the stream
                                   # goes on from `to` (only to a station that said
                                   # Hello.partialSnapshots)
  covered @13 :List(Text);         # partial snapshot, last page: the owners the pages listed; the
                                   # station evicts a record no page named only among these
}

struct RecordRef {
  table @0 :Store.Table;
  id @1 :Text;
}

# A station's read of one record outside its scope (`syncctl get --remote`), answered from the
# hub's store and recorded in the hub's audit log. Read-only.
struct Lookup {
  request @0 :UInt64;   # chosen by the station; repeated in the reply
  table @1 :Store.Table;
  id @2 :Text;
  actor @3 :Text;       # who asked at the station, for the audit line
}

struct LookupReply {
  request @0 :UInt64;
  found @1 :Bool;
  record @2 :Store.Record;  # when found
  error @3 :Text;           # why the look-up failed ("" = it did not)
}

# Station -> hub: one step of `syncctl verify` (sync/admin/verify_walk.h), read-only at the hub,
# about nodes of the verify tree (sync/storage/verify_tree.h) of owners in the station's scope.
enum VerifyWhat {
  sums @0;      # the sum of each node
  children @1;  # the sums of each node's 16 children (nodes above the leaves)
  entries @2;   # the records of each leaf
  fetch @3;     # the hub's whole state of each key (`--repair`)
}

struct TreeNode {
  owner @0 :Text;
  table @1 :Store.Table;
  level @2 :UInt8;      # 0, 4, 8, 12 or 16
  prefix @3 :UInt16;
}

struct VerifyQuery {
  request @0 :UInt64;   # chosen by the station; repeated in the reply
  what @1 :VerifyWhat;
  nodes @2 :List(TreeNode);  # sums, children, entries
  keys @3 :List(RecordRef);  # fetch
}

struct TreeSum {
  records @0 :UInt64;
  fingerprint @1 :UInt64;
}

struct TreeEntry {
  id @0 :Text;
  fingerprint @1 :UInt64;
  version @2 :Text;
}

struct LeafEntries {
  entries @0 :List(TreeEntry);
}

struct FetchedRecord {
  found @0 :Bool;
  record @1 :Store.Record;
  inFlight @2 :Bool;    # the hub changed it and the station has not acknowledged that yet
}

struct VerifyReply {
  request @0 :UInt64;
  error @1 :Text;                 # why the hub did not answer ("" = it did)
  sums @2 :List(TreeSum);         # sums: one per node; children: 16 per node, in order
  leaves @3 :List(LeafEntries);   # entries: one per node
  inFlight @4 :List(RecordRef);   # entries: records under the nodes that the hub changed and
                                  # the station has not acknowledged yet (not differences)
  records @5 :List(FetchedRecord);  # fetch: one per key
  overBudget @6 :Bool;            # refused because answering would read too many records: ask
                                  # about fewer nodes at once
}

# Hub -> station: run a verify now and report it (`syncctl verify --station CODE` at the hub).
struct VerifyOrder {
  request @0 :UInt64;   # chosen by the hub; repeated in the result
  deep @1 :Bool;
  repair @2 :Bool;
}

struct VerifyDifference {
  table @0 :Store.Table;
  id @1 :Text;
  station @2 :Text;
  hasStation @3 :Bool;
  hub @4 :Text;
  hasHub @5 :Bool;
}

# Station -> hub: what the ordered verify found (at most kVerifyResultDifferencesMax listed).
struct VerifyResult {
  request @0 :UInt64;
  error @1 :Text;       # why the verify failed ("" if it did not)
  records @2 :UInt64;
  differences @3 :List(VerifyDifference);
  differenceCount @4 :UInt64;  # all it found, listed or not
  bytesExchanged @5 :UInt64;
  ms @6 :UInt64;
  truncated @7 :Bool;
  repair @8 :Bool;
  repaired @9 :UInt64;
  remaining @10 :UInt64;
}

struct DownAck {
  cursor @0 :UInt64;   # the station holds the hub's log up to here
  page @1 :UInt32;     # snapshot: pages up to this one are stored (with snapshotAck)
  snapshotAck @2 :Bool;
  gap @3 :Bool;        # a batch did not start where expected: resend from cursor (or the page)
  snapshotId @4 :UInt64;  # snapshot: the snapshot of the page acknowledged
}

struct Heartbeat {
  pendingUp @0 :UInt64;   # station -> hub: its changes not yet acknowledged
  lagRecords @1 :UInt64;  # hub -> station: changes in its scope not yet acknowledged
  goodbye @2 :Bool;       # station -> hub: stopping cleanly, the link ends now
}

struct SyncMessage {
  link @0 :UInt64;
  union {
    hello @1 :Hello;
    welcome @2 :Welcome;
    refused @3 :Refused;
    up @4 :Up;
    upAck @5 :UpAck;
    down @6 :Down;
    downAck @7 :DownAck;
    heartbeat @8 :Heartbeat;
    lookup @9 :Lookup;
    lookupReply @10 :LookupReply;
    verifyQuery @11 :VerifyQuery;
    verifyReply @12 :VerifyReply;
    verifyOrder @13 :VerifyOrder;
    verifyResult @14 :VerifyResult;
  }
}
