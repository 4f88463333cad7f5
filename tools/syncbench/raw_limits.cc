#include "tools/syncbench/raw_limits.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <zmq.hpp>

namespace stationsync::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kBatch = 1000;
constexpr int kWindow = 8;  // messages in flight in the pipeline

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result<std::unique_ptr<rocksdb::DB>> OpenStore(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, path, &db);
  if (!s.ok()) return Internal(fmt::format("opening {}: {}", path, s.ToString()));
  return std::unique_ptr<rocksdb::DB>(db);
}

Status Check(const rocksdb::Status& s, const char* what) {
  return s.ok() ? Status::Ok() : Internal(fmt::format("{}: {}", what, s.ToString()));
}

void AppendU32(std::string& out, uint32_t value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

uint32_t ReadU32(const char*& at) {
  uint32_t value = 0;
  std::memcpy(&value, at, sizeof value);
  at += sizeof value;
  return value;
}

// The source's records in batches of kBatch, each as [u32 klen][key][u32 vlen][value]...
class BatchScanner {
 public:
  explicit BatchScanner(rocksdb::DB& db) : it_(db.NewIterator({})) { it_->SeekToFirst(); }
  bool Next(std::string& batch) {
    batch.clear();
    for (size_t n = 0; n < kBatch && it_->Valid(); ++n, it_->Next()) {
      AppendU32(batch, static_cast<uint32_t>(it_->key().size()));
      batch.append(it_->key().data(), it_->key().size());
      AppendU32(batch, static_cast<uint32_t>(it_->value().size()));
      batch.append(it_->value().data(), it_->value().size());
    }
    return !batch.empty();
  }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

// A synced WriteBatch of one encoded batch; returns the records in it.
Result<size_t> WriteEncoded(rocksdb::DB& db, const char* at, const char* end) {
  rocksdb::WriteBatch batch;
  size_t records = 0;
  while (at < end) {
    const uint32_t key_size = ReadU32(at);
    const rocksdb::Slice key(at, key_size);
    at += key_size;
    const uint32_t value_size = ReadU32(at);
    batch.Put(key, rocksdb::Slice(at, value_size));
    at += value_size;
    ++records;
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  SS_RETURN_IF_ERROR(Check(db.Write(sync, &batch), "raw write"));
  return records;
}

}  // namespace

Status BuildSourceStore(const std::string& records_path, const std::string& path) {
  auto db = OpenStore(path);
  if (!db.ok()) return db.status();
  std::ifstream in(records_path);
  rocksdb::WriteBatch batch;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    batch.Put(
        fmt::format("{}/{}", record["table"].get<std::string>(), record["id"].get<std::string>()),
        line);
    if (batch.Count() == kBatch) {
      SS_RETURN_IF_ERROR(Check((*db)->Write({}, &batch), "building the source store"));
      batch.Clear();
    }
  }
  SS_RETURN_IF_ERROR(Check((*db)->Write({}, &batch), "building the source store"));
  return Check((*db)->Flush({}), "flushing the source store");
}

Result<double> RawIngest(const std::string& source, const std::string& dest) {
  auto from = OpenStore(source);
  if (!from.ok()) return from.status();
  auto to = OpenStore(dest);
  if (!to.ok()) return to.status();
  const auto start = Clock::now();
  BatchScanner scanner(**from);
  size_t records = 0;
  for (std::string batch; scanner.Next(batch);) {
    auto written = WriteEncoded(**to, batch.data(), batch.data() + batch.size());
    if (!written.ok()) return written.status();
    records += *written;
  }
  return static_cast<double>(records) / Seconds(start);
}

Result<double> RawCurvePipeline(const std::string& source, const std::string& dest) {
  auto from = OpenStore(source);
  if (!from.ok()) return from.status();
  auto to = OpenStore(dest);
  if (!to.ok()) return to.status();
  char server_public[41], server_secret[41], client_public[41], client_secret[41];
  if (zmq_curve_keypair(server_public, server_secret) != 0 ||
      zmq_curve_keypair(client_public, client_secret) != 0) {
    return Internal("libzmq was built without CURVE");
  }
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::curve_server, 1);
  router.set(zmq::sockopt::curve_secretkey, std::string(server_secret));
  router.set(zmq::sockopt::router_mandatory, 1);
  router.bind("tcp://127.0.0.1:*");
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);

  // The sender: a batch per credit the receiver sends; an empty message ends the stream.
  std::atomic<bool> sender_failed = false;
  std::thread sender([&] {
    try {
      BatchScanner scanner(**from);
      std::string batch;
      bool more = true;
      while (more) {
        zmq::message_t peer, credit;
        if (!router.recv(peer) || !router.recv(credit)) return;
        more = scanner.Next(batch);
        router.send(peer, zmq::send_flags::sndmore);
        router.send(zmq::buffer(batch), zmq::send_flags::none);
      }
    } catch (const zmq::error_t&) {
      sender_failed = true;
    }
  });

  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::curve_serverkey, std::string(server_public));
  dealer.set(zmq::sockopt::curve_publickey, std::string(client_public));
  dealer.set(zmq::sockopt::curve_secretkey, std::string(client_secret));
  dealer.set(zmq::sockopt::rcvtimeo, 30000);
  dealer.connect(endpoint);
  const auto start = Clock::now();
  for (int i = 0; i < kWindow; ++i) dealer.send(zmq::str_buffer("credit"));
  size_t records = 0;
  Status status = Status::Ok();
  while (true) {
    zmq::message_t batch;
    if (!dealer.recv(batch)) {
      status = Internal("the raw pipeline's sender stopped answering");
      break;
    }
    if (batch.size() == 0) break;
    const char* at = static_cast<const char*>(batch.data());
    auto written = WriteEncoded(**to, at, at + batch.size());
    if (!written.ok()) {
      status = written.status();
      break;
    }
    records += *written;
    dealer.send(zmq::str_buffer("credit"));
  }
  const double seconds = Seconds(start);
  dealer.close();
  context.shutdown();  // ends the sender's recv if it still waits
  sender.join();
  if (!status.ok()) return status;
  if (sender_failed && records == 0) return Internal("the raw pipeline's sender failed");
  return static_cast<double>(records) / seconds;
}

Result<double> RawSyncedWrites(const std::string& dest, size_t writers, size_t writes,
                               size_t value_bytes) {
  auto db = OpenStore(dest);
  if (!db.ok()) return db.status();
  const std::string value(value_bytes, 'v');
  std::atomic<size_t> next = 0;
  std::atomic<bool> failed = false;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      rocksdb::WriteOptions sync;
      sync.sync = true;
      for (size_t i = next++; i < writes; i = next++) {
        rocksdb::WriteBatch batch;
        batch.Put(fmt::format("personnel/W{:08}", i), value);
        if (!(*db)->Write(sync, &batch).ok()) failed = true;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failed) return Internal("a raw synced write failed");
  return static_cast<double>(writes) / Seconds(start);
}

}  // namespace stationsync::bench
