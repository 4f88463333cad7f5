// See http_client.h.
#include "tests/support/http_client.h"

namespace stationsync::testing {

httplib::Result HttpCall(const std::string& address, const std::string& method,
                         const std::string& path, const std::string& body,
                         const httplib::Headers& headers) {
  const size_t colon = address.rfind(':');
  httplib::Client client(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
  client.set_connection_timeout(5);
  client.set_read_timeout(20);
  client.set_write_timeout(5);
  if (method == "PUT") return client.Put(path.c_str(), headers, body, "application/json");
  if (method == "POST") return client.Post(path.c_str(), headers, body, "application/json");
  if (method == "DELETE") return client.Delete(path.c_str(), headers);
  return client.Get(path.c_str(), headers);
}

}  // namespace stationsync::testing
