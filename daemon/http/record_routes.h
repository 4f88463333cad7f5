// The app API (JSON over HTTP for local applications) as pure functions, with no server and no
// socket: an HTTP request on a /v1/records route becomes the ApiRequest that the matching
// `syncctl put/get/delete/list/history` sends, and the daemon's ApiResponse becomes an HTTP
// status and a JSON body. The HTTP server (http_server.h) hands the ApiRequest to the loop
// (api_bridge.h); validation of the record, scope and durability are the ApiServer's, as for
// syncctl. Everything here only refuses early what would not even make an ApiRequest.
//
// Routes (table: unit, personnel, case, registration):
//   GET    /v1/records/{table}/{id}            the record; ?remote=true asks the hub (as
//                                              `get --remote`; needs X-Actor: it is audited)
//   PUT    /v1/records/{table}/{id}?owner=     body: a JSON object of the fields (null clears
//                                              one); an upsert as `put`; the record as stored
//   DELETE /v1/records/{table}/{id}            the tombstone as stored
//   GET    /v1/records/{table}?owner=&household=&limit=&after=
//                                              {"records":[..],"next":CURSOR|null,
//                                               "next_url":URL|null}: a page of at most limit
//                                              (1..kListLimitMax, default kListLimitDefault)
//                                              live records; follow next_url (or pass
//                                              after=CURSOR) until next is null
//   GET    /v1/records/{table}/{id}/history    {"table","id","history":[entry, ..]}
// Records and history entries have the JSON of `syncctl` (sync/records/record_json.h).
// The writer is the X-Actor header (a unit or police number code), required for writes.
//
// Errors: {"error": message, "field": name or null}, with 400 invalid (bad table, id, query,
// body, X-Actor; a record that fails validation), 404 not found, 403 refused (out of this
// station's scope, units at a station), 503 the store or the hub is unavailable (retry later;
// a write that got 503 may still have been applied: read it back). 401 (token) and 413 (body over
// kHttpRequestBytesMax) are the server's. A 200 to a write means it is durable.
//
// Untrusted input: every byte of the path, query, headers and body is checked here before it
// reaches an ApiRequest: table by name, id by NormalizeId, owner as a unit code, household by
// its field rule, the body's JSON nesting before it is parsed, cursors as hex. Output JSON is
// written with invalid UTF-8 replaced, so an echoed byte can never make dump() throw.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "sync/base/status.h"
#include "sync/codec/api_codec.h"

namespace stationsync {

inline constexpr size_t kListLimitDefault = 100;
inline constexpr size_t kListLimitMax = 1000;
inline constexpr size_t kCursorBytesMax = 512;  // a record key; its hex form is twice that
inline constexpr int kBodyNestingMax = 2;       // {"field": ["text", ..]}

// What the routes read of an HTTP request (filled by the server from httplib's Request).
struct RecordRoute {
  std::string method;                             // "GET", "PUT" or "DELETE"
  std::string table;                              // the path's {table}
  std::string id;                                 // the path's {id}; empty: the list route
  bool history = false;                           // .../{id}/history
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::optional<std::string> actor;               // the X-Actor header, if sent
  std::string body;
};

// An HTTP answer: its status and JSON body.
struct HttpAnswer {
  int status = 200;
  nlohmann::ordered_json body;
};

// {"error": message, "field": field or null} with `status`.
HttpAnswer ErrorAnswer(int status, const std::string& message, const std::string& field = "");

// The HTTP status for a daemon's error code: 400, 404, 403, 503 (kUnavailable and kInternal:
// the store cannot serve), 200 for kOk.
int HttpStatusOf(Code code);

// The field an error message is about ("field sex: ..." -> "sex", "id: ..." -> "id",
// "owner: ..." -> "owner"), or "" when it names none.
std::string FieldOf(const std::string& message);

// The request the route asks the daemon for, or the 400 answer that refuses it.
std::variant<ApiRequest, HttpAnswer> ToApiRequest(const RecordRoute& route);

// The HTTP answer to `route` once the daemon answered `request` with `response` (or could not be
// reached: kUnavailable).
HttpAnswer ToHttpAnswer(const RecordRoute& route, const ApiRequest& request,
                        const Result<ApiResponse>& response);

// Cursors travel in URLs and JSON as lowercase hex (record keys hold 0x00 bytes).
std::string HexEncode(std::string_view bytes);
Result<std::string> HexDecode(std::string_view hex);

// The deepest nesting of arrays and objects in `text` (strings skipped), counted without
// parsing, so a hostile body of 64 KiB of '[' is refused before a parser sees it.
int JsonNestingDepth(std::string_view text);

// `json` as text: invalid UTF-8 replaced (U+FFFD), never a throw.
std::string DumpJson(const nlohmann::ordered_json& json);

}  // namespace stationsync
