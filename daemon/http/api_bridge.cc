// See api_bridge.h.
#include "daemon/http/api_bridge.h"

#include <cassert>

namespace stationsync {

ApiBridge::ApiBridge(zmq::context_t& context, std::string endpoint,
                     std::chrono::milliseconds timeout)
    : context_(context), endpoint_(std::move(endpoint)), timeout_(timeout) {}

Result<ApiResponse> ApiBridge::Call(ApiRequest request) {
  std::unique_ptr<ApiClient> client = Borrow();
  auto response = client->Call(std::move(request));
  Return(std::move(client));
  return response;
}

std::unique_ptr<ApiClient> ApiBridge::Borrow() {
  std::unique_lock lock(mutex_);
  returned_.wait(lock, [this] { return !idle_.empty() || created_ < kBridgeClientsMax; });
  if (idle_.empty()) {
    ++created_;
    assert(created_ <= kBridgeClientsMax);
    // The actor of each request comes from the request (X-Actor), never from the client.
    return std::make_unique<ApiClient>(context_, endpoint_, timeout_, "");
  }
  std::unique_ptr<ApiClient> client = std::move(idle_.back());
  idle_.pop_back();
  return client;
}

void ApiBridge::Return(std::unique_ptr<ApiClient> client) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(client));
  }
  returned_.notify_one();
}

}  // namespace stationsync
