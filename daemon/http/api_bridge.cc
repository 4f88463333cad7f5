// See api_bridge.h.
#include "daemon/http/api_bridge.h"

#include <cassert>

#include <fmt/format.h>

namespace stationsync {

ApiBridge::ApiBridge(zmq::context_t& context, std::string endpoint,
                     std::chrono::milliseconds timeout)
    : context_(context), endpoint_(std::move(endpoint)), timeout_(timeout) {}

Result<ApiResponse> ApiBridge::Call(ApiRequest request) {
  std::unique_ptr<ApiClient> client = Borrow();
  if (!client) {
    if (stopping_.load()) return Unavailable("syncd is stopping; retry once it has restarted");
    return Unavailable(fmt::format("all {} connections to the daemon's loop stayed busy for {} ms",
                                   kBridgeClientsMax, timeout_.count()));
  }
  // Back to the pool however the call ends (invariant 3).
  struct Returner {
    ApiBridge& bridge;
    std::unique_ptr<ApiClient>& client;
    ~Returner() { bridge.Return(std::move(client)); }
  } returner{*this, client};
  return client->Call(std::move(request));
}

void ApiBridge::Shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
  }
  returned_.notify_all();
}

std::unique_ptr<ApiClient> ApiBridge::Borrow() {
  std::unique_lock lock(mutex_);
  const bool available = returned_.wait_for(lock, timeout_, [this] {
    return stopping_.load() || !idle_.empty() || created_ < kBridgeClientsMax;
  });
  if (!available || stopping_.load()) return nullptr;
  if (idle_.empty()) {
    ++created_;
    assert(created_ <= kBridgeClientsMax);
    // The actor of each request comes from the request (X-Actor), never from the client.
    auto client = std::make_unique<ApiClient>(context_, endpoint_, timeout_, "");
    client->SetCancel(&stopping_);
    return client;
  }
  std::unique_ptr<ApiClient> client = std::move(idle_.back());
  idle_.pop_back();
  return client;
}

void ApiBridge::Return(std::unique_ptr<ApiClient> client) {
  assert(client != nullptr);
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(client));
  }
  returned_.notify_one();
}

}  // namespace stationsync
