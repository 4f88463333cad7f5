// See sync_codec.h.
#include "sync/codec/sync_codec.h"

#include <capnp/message.h>
#include <spdlog/spdlog.h>

#include "schema/sync.capnp.h"
#include "sync/codec/capnp_io.h"
#include "sync/codec/record_codec.h"

namespace stationsync {

namespace {

using Builder = schema::SyncMessage::Builder;
using Reader = schema::SyncMessage::Reader;

void WriteRefs(const std::vector<RecordRef>& refs, capnp::List<schema::RecordRef>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) {
    out[i].setTable(static_cast<schema::Table>(refs[i].table));
    out[i].setId(refs[i].id);
  }
}

Result<std::vector<RecordRef>> ReadRefs(capnp::List<schema::RecordRef>::Reader in) {
  std::vector<RecordRef> refs;
  refs.reserve(in.size());
  for (auto ref : in) {
    auto table = ReadTable(ref.getTable());
    if (!table.ok()) return table.status();
    refs.push_back({*table, ref.getId()});
  }
  return refs;
}

void Write(const Hello& m, Builder out) {
  auto b = out.initHello();
  b.setProtocol(m.protocol);
  b.setUnit(m.unit);
  b.setNode(m.node);
  b.setEpoch(m.epoch);
  b.setLastSeq(m.last_seq);
  b.setHubEpoch(m.hub_epoch);
  b.setDownCursor(m.down_cursor);
  WriteStamp(m.down_stamp, b.initDownStamp());
  WriteTexts(m.scope, b.initScope(static_cast<unsigned>(m.scope.size())));
  b.setClockMs(m.clock_ms);
  b.setPartialSnapshots(m.partial_snapshots);
}

void Write(const Welcome& m, Builder out) {
  auto b = out.initWelcome();
  b.setHubEpoch(m.hub_epoch);
  b.setUpCursor(m.up_cursor);
  WriteStamp(m.up_stamp, b.initUpStamp());
  b.setSnapshot(m.snapshot);
  b.setOffer(m.offer);
  b.setWindow(m.window);
  b.setHubClockMs(m.hub_clock_ms);
}

void Write(const Refusal& m, Builder out) {
  auto b = out.initRefused();
  b.setReason(m.reason);
  b.setHelloAgain(m.hello_again);
  b.setClockAheadMs(m.clock_ahead_ms);
}

void Write(const Up& m, Builder out) {
  auto b = out.initUp();
  b.setFrom(m.from);
  b.setTo(m.to);
  WriteRecords(m.changes, b.initChanges(static_cast<unsigned>(m.changes.size())));
  b.setOffer(m.offer);
  b.setPage(m.page);
  b.setLast(m.last);
  WriteStamp(m.to_stamp, b.initToStamp());
}

void Write(const UpAck& m, Builder out) {
  auto b = out.initUpAck();
  b.setCursor(m.cursor);
  b.setPage(m.page);
  b.setOfferAck(m.offer_ack);
  b.setGap(m.gap);
  b.setRejected(m.rejected);
}

void Write(const Down& m, Builder out) {
  auto b = out.initDown();
  b.setFrom(m.from);
  b.setTo(m.to);
  WriteStamp(m.to_stamp, b.initToStamp());
  auto records = b.initRecords(static_cast<unsigned>(m.records.size() + m.stored_records.size()));
  WriteRecords(m.records, records);
  // The hub's List checked these bytes (CheckStoredRecord) as it read them, so a copy cannot
  // fail short of memory corruption. If one did, its element stays an empty record, which the
  // station rejects as invalid and reports; the page is still sent, and logged once.
  Status first_failure;
  for (size_t i = 0; i < m.stored_records.size(); ++i) {
    const auto index = static_cast<unsigned>(m.records.size() + i);
    Status copied = CopyStoredRecord(m.stored_records[i], records, index);
    if (!copied.ok() && first_failure.ok()) first_failure = std::move(copied);
  }
  if (!first_failure.ok()) {
    spdlog::error("snapshot page {}: a stored record could not be copied: {}", m.page,
                  first_failure.message());
  }
  b.setSnapshot(m.snapshot);
  b.setPage(m.page);
  b.setLast(m.last);
  b.setHubEpoch(m.hub_epoch);
  WriteTexts(m.scope, b.initScope(static_cast<unsigned>(m.scope.size())));
  b.setSnapshotId(m.snapshot_id);
  b.setUpCovered(m.up_covered);
  b.setPartial(m.partial);
  WriteTexts(m.covered, b.initCovered(static_cast<unsigned>(m.covered.size())));
  WriteRefs(m.evict, b.initEvict(static_cast<unsigned>(m.evict.size())));
}

void Write(const Lookup& m, Builder out) {
  auto b = out.initLookup();
  b.setRequest(m.request);
  b.setTable(static_cast<schema::Table>(m.table));
  b.setId(m.id);
  b.setActor(m.actor);
}

void Write(const LookupReply& m, Builder out) {
  auto b = out.initLookupReply();
  b.setRequest(m.request);
  b.setFound(m.record.has_value());
  if (m.record) WriteRecord(*m.record, b.initRecord());
  b.setError(m.error);
}

void Write(const VerifyQuery& m, Builder out) {
  auto b = out.initVerifyQuery();
  b.setRequest(m.request);
  b.setWhat(static_cast<schema::VerifyWhat>(m.what));
  auto nodes = b.initNodes(static_cast<unsigned>(m.nodes.size()));
  for (unsigned i = 0; i < nodes.size(); ++i) {
    nodes[i].setOwner(m.nodes[i].owner);
    nodes[i].setTable(static_cast<schema::Table>(m.nodes[i].table));
    nodes[i].setLevel(m.nodes[i].level);
    nodes[i].setPrefix(m.nodes[i].prefix);
  }
  WriteRefs(m.keys, b.initKeys(static_cast<unsigned>(m.keys.size())));
}

void Write(const VerifyReply& m, Builder out) {
  auto b = out.initVerifyReply();
  b.setRequest(m.request);
  b.setError(m.error);
  b.setOverBudget(m.over_budget);
  auto sums = b.initSums(static_cast<unsigned>(m.sums.size()));
  for (unsigned i = 0; i < sums.size(); ++i) {
    sums[i].setRecords(m.sums[i].records);
    sums[i].setFingerprint(m.sums[i].fingerprint);
  }
  auto leaves = b.initLeaves(static_cast<unsigned>(m.leaves.size()));
  for (unsigned i = 0; i < leaves.size(); ++i) {
    auto entries = leaves[i].initEntries(static_cast<unsigned>(m.leaves[i].size()));
    for (unsigned j = 0; j < entries.size(); ++j) {
      entries[j].setId(m.leaves[i][j].id);
      entries[j].setFingerprint(m.leaves[i][j].fingerprint);
      entries[j].setVersion(m.leaves[i][j].version);
    }
  }
  WriteRefs(m.in_flight, b.initInFlight(static_cast<unsigned>(m.in_flight.size())));
  auto records = b.initRecords(static_cast<unsigned>(m.records.size()));
  for (unsigned i = 0; i < records.size(); ++i) {
    records[i].setFound(m.records[i].record.has_value());
    if (m.records[i].record) WriteRecord(*m.records[i].record, records[i].initRecord());
    records[i].setInFlight(m.records[i].in_flight);
  }
}

void Write(const VerifyOrder& m, Builder out) {
  auto b = out.initVerifyOrder();
  b.setRequest(m.request);
  b.setDeep(m.deep);
  b.setRepair(m.repair);
}

void Write(const VerifyResult& m, Builder out) {
  auto b = out.initVerifyResult();
  b.setRequest(m.request);
  b.setError(m.error);
  const VerifyReport& r = m.report;
  b.setRecords(r.records);
  auto differences = b.initDifferences(static_cast<unsigned>(r.differences.size()));
  for (unsigned i = 0; i < differences.size(); ++i) {
    differences[i].setTable(static_cast<schema::Table>(r.differences[i].table));
    differences[i].setId(r.differences[i].id);
    differences[i].setHasStation(r.differences[i].station.has_value());
    differences[i].setStation(r.differences[i].station.value_or(""));
    differences[i].setHasHub(r.differences[i].hub.has_value());
    differences[i].setHub(r.differences[i].hub.value_or(""));
  }
  b.setDifferenceCount(m.difference_count);
  b.setBytesExchanged(r.bytes_exchanged);
  b.setMs(r.ms);
  b.setTruncated(r.truncated);
  b.setRepair(r.repair);
  b.setRepaired(r.repaired);
  b.setRemaining(r.remaining);
}

void Write(const DownAck& m, Builder out) {
  auto b = out.initDownAck();
  b.setCursor(m.cursor);
  b.setPage(m.page);
  b.setSnapshotAck(m.snapshot_ack);
  b.setGap(m.gap);
  b.setSnapshotId(m.snapshot_id);
}

void Write(const Heartbeat& m, Builder out) {
  auto b = out.initHeartbeat();
  b.setPendingUp(m.pending_up);
  b.setLagRecords(m.lag_records);
  b.setGoodbye(m.goodbye);
}

Result<SyncBody> ReadBody(Reader in) {
  switch (in.which()) {
    case schema::SyncMessage::HELLO: {
      auto r = in.getHello();
      return SyncBody(Hello{r.getProtocol(), r.getUnit(), r.getNode(), r.getEpoch(), r.getLastSeq(),
                            r.getHubEpoch(), r.getDownCursor(), ReadStamp(r.getDownStamp()),
                            ReadTexts(r.getScope()), r.getClockMs(), r.getPartialSnapshots()});
    }
    case schema::SyncMessage::WELCOME: {
      auto r = in.getWelcome();
      return SyncBody(Welcome{r.getHubEpoch(), r.getUpCursor(), ReadStamp(r.getUpStamp()),
                              r.getSnapshot(), r.getOffer(), r.getWindow(), r.getHubClockMs()});
    }
    case schema::SyncMessage::REFUSED: {
      auto r = in.getRefused();
      return SyncBody(Refusal{r.getReason(), r.getHelloAgain(), r.getClockAheadMs()});
    }
    case schema::SyncMessage::UP: {
      auto r = in.getUp();
      auto changes = ReadRecords(r.getChanges());
      if (!changes.ok()) return changes.status();
      return SyncBody(Up{r.getFrom(), r.getTo(), std::move(changes).value(), r.getOffer(),
                         r.getPage(), r.getLast(), ReadStamp(r.getToStamp())});
    }
    case schema::SyncMessage::UP_ACK: {
      auto r = in.getUpAck();
      return SyncBody(
          UpAck{r.getCursor(), r.getPage(), r.getOfferAck(), r.getGap(), r.getRejected()});
    }
    case schema::SyncMessage::DOWN: {
      auto r = in.getDown();
      auto records = ReadRecords(r.getRecords());
      if (!records.ok()) return records.status();
      auto evict = ReadRefs(r.getEvict());
      if (!evict.ok()) return evict.status();
      return SyncBody(Down{r.getFrom(),
                           r.getTo(),
                           ReadStamp(r.getToStamp()),
                           std::move(records).value(),
                           r.getSnapshot(),
                           r.getPage(),
                           r.getLast(),
                           r.getHubEpoch(),
                           ReadTexts(r.getScope()),
                           std::move(evict).value(),
                           r.getSnapshotId(),
                           r.getUpCovered(),
                           r.getPartial(),
                           ReadTexts(r.getCovered()),
                           {}});
    }
    case schema::SyncMessage::LOOKUP: {
      auto r = in.getLookup();
      auto table = ReadTable(r.getTable());
      if (!table.ok()) return table.status();
      return SyncBody(Lookup{r.getRequest(), *table, r.getId(), r.getActor()});
    }
    case schema::SyncMessage::LOOKUP_REPLY: {
      auto r = in.getLookupReply();
      LookupReply reply{r.getRequest(), std::nullopt, r.getError()};
      if (r.getFound()) {
        auto record = ReadRecord(r.getRecord());
        if (!record.ok()) return record.status();
        reply.record = std::move(record).value();
      }
      return SyncBody(std::move(reply));
    }
    case schema::SyncMessage::VERIFY_QUERY: {
      auto r = in.getVerifyQuery();
      VerifyQuery query;
      query.request = r.getRequest();
      const auto what = static_cast<unsigned>(r.getWhat());
      if (what > static_cast<unsigned>(VerifyWhat::kFetch)) {
        return Invalid("verify query of unknown kind " + std::to_string(what));
      }
      query.what = static_cast<VerifyWhat>(what);
      query.nodes.reserve(r.getNodes().size());
      for (auto node : r.getNodes()) {
        auto table = ReadTable(node.getTable());
        if (!table.ok()) return table.status();
        query.nodes.push_back({node.getOwner(), *table, node.getLevel(), node.getPrefix()});
      }
      auto keys = ReadRefs(r.getKeys());
      if (!keys.ok()) return keys.status();
      query.keys = std::move(keys).value();
      return SyncBody(std::move(query));
    }
    case schema::SyncMessage::VERIFY_REPLY: {
      auto r = in.getVerifyReply();
      VerifyReply reply;
      reply.request = r.getRequest();
      reply.error = r.getError();
      reply.over_budget = r.getOverBudget();
      for (auto sum : r.getSums()) reply.sums.push_back({sum.getRecords(), sum.getFingerprint()});
      for (auto leaf : r.getLeaves()) {
        auto& entries = reply.leaves.emplace_back();
        for (auto entry : leaf.getEntries()) {
          entries.push_back({entry.getId(), entry.getFingerprint(), entry.getVersion()});
        }
      }
      auto in_flight = ReadRefs(r.getInFlight());
      if (!in_flight.ok()) return in_flight.status();
      reply.in_flight = std::move(in_flight).value();
      for (auto fetched : r.getRecords()) {
        FetchedRecord out{std::nullopt, fetched.getInFlight()};
        if (fetched.getFound()) {
          auto record = ReadRecord(fetched.getRecord());
          if (!record.ok()) return record.status();
          out.record = std::move(record).value();
        }
        reply.records.push_back(std::move(out));
      }
      return SyncBody(std::move(reply));
    }
    case schema::SyncMessage::VERIFY_ORDER: {
      auto r = in.getVerifyOrder();
      return SyncBody(VerifyOrder{r.getRequest(), r.getDeep(), r.getRepair()});
    }
    case schema::SyncMessage::VERIFY_RESULT: {
      auto r = in.getVerifyResult();
      VerifyResult result;
      result.request = r.getRequest();
      result.error = r.getError();
      result.report.records = r.getRecords();
      for (auto d : r.getDifferences()) {
        auto table = ReadTable(d.getTable());
        if (!table.ok()) return table.status();
        result.report.differences.push_back(
            {*table, d.getId(),
             d.getHasStation() ? std::optional<std::string>(d.getStation()) : std::nullopt,
             d.getHasHub() ? std::optional<std::string>(d.getHub()) : std::nullopt});
      }
      result.difference_count = r.getDifferenceCount();
      result.report.bytes_exchanged = r.getBytesExchanged();
      result.report.ms = r.getMs();
      result.report.truncated = r.getTruncated();
      result.report.repair = r.getRepair();
      result.report.repaired = r.getRepaired();
      result.report.remaining = r.getRemaining();
      return SyncBody(std::move(result));
    }
    case schema::SyncMessage::DOWN_ACK: {
      auto r = in.getDownAck();
      return SyncBody(
          DownAck{r.getCursor(), r.getPage(), r.getSnapshotAck(), r.getGap(), r.getSnapshotId()});
    }
    case schema::SyncMessage::HEARTBEAT: {
      auto r = in.getHeartbeat();
      return SyncBody(Heartbeat{r.getPendingUp(), r.getLagRecords(), r.getGoodbye()});
    }
  }
  return Invalid("sync message of unknown kind " +
                 std::to_string(static_cast<unsigned>(in.which())));
}

}  // namespace

const char* KindName(const SyncMessage& message) {
  static constexpr const char* kNames[] = {"hello",  "welcome",     "refused",     "up",
                                           "upAck",  "down",        "downAck",     "heartbeat",
                                           "lookup", "lookupReply", "verifyQuery", "verifyReply"};
  return kNames[message.body.index()];
}

std::string EncodeSyncMessage(const SyncMessage& message) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::SyncMessage>();
  out.setLink(message.link);
  std::visit([&out](const auto& body) { Write(body, out); }, message.body);
  return MessageBytes(builder);
}

Status TakeStoredRecords(Down& down) {
  std::vector<Record> decoded;
  decoded.reserve(down.stored_records.size());
  for (const std::string& bytes : down.stored_records) {
    auto record = DecodeRecord(bytes);
    if (!record.ok()) return record.status();
    decoded.push_back(std::move(record).value());
  }
  down.records.insert(down.records.end(), std::make_move_iterator(decoded.begin()),
                      std::make_move_iterator(decoded.end()));
  down.stored_records.clear();
  return Status::Ok();
}

Result<SyncMessage> DecodeSyncMessage(std::string_view bytes) {
  return DecodeMessage<schema::SyncMessage>(
      "sync message", bytes, [](Reader in) -> Result<SyncMessage> {
        auto body = ReadBody(in);
        if (!body.ok()) return body.status();
        return SyncMessage{in.getLink(), std::move(body).value()};
      });
}

Result<SyncEnvelope> PeekSyncMessage(std::string_view bytes) {
  return DecodeMessage<schema::SyncMessage>(
      "sync message", bytes, [](Reader in) -> Result<SyncEnvelope> {
        return SyncEnvelope{in.getLink(), in.which() == schema::SyncMessage::HELLO};
      });
}

}  // namespace stationsync
