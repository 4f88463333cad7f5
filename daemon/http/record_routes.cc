// See record_routes.h.
#include "daemon/http/record_routes.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sync/base/log_guard.h"
#include "sync/records/record_json.h"
#include "sync/records/validate.h"

namespace stationsync {
namespace {

using nlohmann::ordered_json;

// The query parameters each route accepts; anything else is refused, naming it.
const std::set<std::string>& AllowedQuery(const RecordRoute& route) {
  static const std::set<std::string> kList{"owner", "household", "limit", "after"};
  static const std::set<std::string> kGet{"remote"};
  static const std::set<std::string> kPut{"owner"};
  static const std::set<std::string> kNone{};
  if (route.id.empty()) return kList;
  if (route.history) return kNone;
  if (route.method == "GET") return kGet;
  if (route.method == "PUT") return kPut;
  return kNone;
}

// The one value of a query parameter ("" if absent), or a refusal if it was given twice.
std::variant<std::string, HttpAnswer> QueryValue(const RecordRoute& route,
                                                 const std::string& name) {
  const auto [first, last] = route.query.equal_range(name);
  if (first == last) return std::string();
  if (std::next(first) != last) {
    return ErrorAnswer(400, fmt::format("query parameter {} is given more than once", name), name);
  }
  return first->second;
}

// Checks every query parameter's name and that none repeats.
std::optional<HttpAnswer> CheckQuery(const RecordRoute& route) {
  const auto& allowed = AllowedQuery(route);
  for (const auto& [name, value] : route.query) {
    if (!allowed.contains(name)) {
      return ErrorAnswer(
          400,
          allowed.empty()
              ? fmt::format("this route takes no query parameters ({} given)", Clip(name, 40))
              : fmt::format("unknown query parameter {} (this route takes: {})", Clip(name, 40),
                            fmt::join(allowed, ", ")),
          Clip(name, 40));
    }
    if (route.query.count(name) > 1) {
      return ErrorAnswer(400, fmt::format("query parameter {} is given more than once", name),
                         name);
    }
  }
  return std::nullopt;
}

std::optional<HttpAnswer> NeedActor(const RecordRoute& route, const char* why) {
  if (!route.actor || route.actor->empty()) {
    return ErrorAnswer(400,
                       fmt::format("{} needs the X-Actor header: the police number of the officer "
                                   "or the name of the application (1 to 40 letters, digits, '-' "
                                   "or '_')",
                                   why),
                       "X-Actor");
  }
  if (!IsCode(*route.actor)) {
    return ErrorAnswer(400, "X-Actor must be 1 to 40 letters, digits, '-' or '_'", "X-Actor");
  }
  return std::nullopt;
}

// The fields of a PUT's body, or the answer refusing it.
std::variant<std::map<std::string, Value>, HttpAnswer> BodyFields(const std::string& body) {
  if (JsonNestingDepth(body) > kBodyNestingMax) {
    return ErrorAnswer(400,
                       "the body nests too deep: it is a JSON object of fields, each a string, "
                       "an array of strings or null",
                       "body");
  }
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return ErrorAnswer(400, "the body is not valid JSON", "body");
  if (!json.is_object()) {
    return ErrorAnswer(400, "the body must be a JSON object of the record's fields", "body");
  }
  auto fields = FieldsFromJson(json);
  if (!fields.ok()) {
    return ErrorAnswer(400, fields.status().message(), FieldOf(fields.status().message()));
  }
  return std::move(fields).value();
}

// A list route's query, or the answer refusing it.
std::variant<ListQuery, HttpAnswer> ToListQuery(const RecordRoute& route, Table table) {
  ListQuery query;
  query.table = table;
  query.limit = kListLimitDefault;
  for (const char* name : {"owner", "household", "limit", "after"}) {
    auto value = QueryValue(route, name);
    if (auto* refusal = std::get_if<HttpAnswer>(&value)) return std::move(*refusal);
    const std::string& text = std::get<std::string>(value);
    if (text.empty()) continue;
    const std::string_view key = name;
    if (key == "owner") {
      if (!IsCode(text)) return ErrorAnswer(400, "owner must be a unit code", "owner");
      query.owner = text;
    } else if (key == "household") {
      auto household = NormalizeField(Table::kRegistration, "household", Value(text));
      const auto* normalized = household.ok() ? std::get_if<std::string>(&*household) : nullptr;
      if (normalized == nullptr) {
        return ErrorAnswer(400,
                           household.ok() ? "household must be text" : household.status().message(),
                           "household");
      }
      query.household = *normalized;
    } else if (key == "limit") {
      size_t limit = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (error != std::errc() || end != text.data() + text.size() || limit == 0 ||
          limit > kListLimitMax) {
        return ErrorAnswer(400, fmt::format("limit must be a number from 1 to {}", kListLimitMax),
                           "limit");
      }
      query.limit = limit;
    } else {
      auto after = HexDecode(text);
      if (!after.ok() || after->size() > kCursorBytesMax) {
        return ErrorAnswer(400, "after must be the next cursor of an earlier page", "after");
      }
      query.after = std::move(after).value();
    }
  }
  return query;
}

ordered_json PageJson(const RecordRoute& route, const ListQuery& query, const Page& page) {
  ordered_json out;
  out["records"] = ordered_json::array();
  for (const Record& record : page.records) out["records"].push_back(RecordToJson(record));
  if (page.next.empty()) {
    out["next"] = nullptr;
    out["next_url"] = nullptr;
    return out;
  }
  const std::string next = HexEncode(page.next);
  out["next"] = next;
  // Every value here was checked to be a code, a household or a number: nothing to escape but
  // the household, which may hold any text of its field.
  std::string url = fmt::format("/v1/records/{}?limit={}", route.table, query.limit);
  if (!query.owner.empty()) url += "&owner=" + query.owner;
  if (!query.household.empty()) {
    url += "&household=";
    for (const unsigned char c : query.household) {
      if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.') {
        url += static_cast<char>(c);
      } else {
        url += fmt::format("%{:02X}", c);
      }
    }
  }
  out["next_url"] = url + "&after=" + next;
  return out;
}

}  // namespace

HttpAnswer ErrorAnswer(int status, const std::string& message, const std::string& field) {
  ordered_json body;
  body["error"] = message;
  body["field"] = field.empty() ? ordered_json(nullptr) : ordered_json(field);
  return {status, std::move(body)};
}

int HttpStatusOf(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kNotFound:
      return 404;
    case Code::kInvalid:
      return 400;
    case Code::kRefused:
      return 403;
    case Code::kUnavailable:
    case Code::kInternal:
      return 503;
  }
  return 503;
}

std::string FieldOf(const std::string& message) {
  constexpr std::string_view kField = "field ";
  std::string_view text = message;
  if (text.starts_with(kField)) {
    text.remove_prefix(kField.size());
    const size_t colon = text.find(':');
    return colon == std::string_view::npos ? "" : std::string(text.substr(0, colon));
  }
  for (const char* name : {"id", "owner"}) {
    if (text.starts_with(std::string(name) + ":")) return name;
  }
  return "";
}

std::variant<ApiRequest, HttpAnswer> ToApiRequest(const RecordRoute& route) {
  auto table = ParseTable(route.table);
  if (!table.ok()) return ErrorAnswer(400, table.status().message(), "table");
  if (!route.id.empty()) {
    if (auto id = NormalizeId(*table, route.id); !id.ok()) {
      return ErrorAnswer(400, id.status().message(), "id");
    }
  }
  if (auto refusal = CheckQuery(route)) return std::move(*refusal);
  ApiRequest request;
  request.actor = route.actor.value_or("");
  request.patch.table = *table;
  request.patch.id = route.id;
  if (route.id.empty()) {
    if (route.method != "GET") return ErrorAnswer(405, "a table takes GET only");
    auto query = ToListQuery(route, *table);
    if (auto* refusal = std::get_if<HttpAnswer>(&query)) return std::move(*refusal);
    request.kind = ApiKind::kList;
    request.list = std::get<ListQuery>(std::move(query));
    return request;
  }
  if (route.history) {
    request.kind = ApiKind::kHistory;
    return request;
  }
  if (route.method == "GET") {
    auto remote = QueryValue(route, "remote");
    if (auto* refusal = std::get_if<HttpAnswer>(&remote)) return std::move(*refusal);
    const std::string& flag = std::get<std::string>(remote);
    if (!flag.empty() && flag != "true" && flag != "false") {
      return ErrorAnswer(400, "remote must be true or false", "remote");
    }
    request.kind = flag == "true" ? ApiKind::kGetRemote : ApiKind::kGet;
    if (request.kind == ApiKind::kGetRemote) {
      if (auto refusal = NeedActor(route, "a look-up at the hub (it is audited)")) {
        return std::move(*refusal);
      }
    }
    return request;
  }
  if (auto refusal = NeedActor(route, "a write")) return std::move(*refusal);
  if (route.method == "DELETE") {
    request.kind = ApiKind::kDelete;
    return request;
  }
  auto owner = QueryValue(route, "owner");
  if (auto* refusal = std::get_if<HttpAnswer>(&owner)) return std::move(*refusal);
  request.patch.owner = std::get<std::string>(owner);
  if (!request.patch.owner.empty() && !IsCode(request.patch.owner)) {
    return ErrorAnswer(400, "owner must be a unit code", "owner");
  }
  auto fields = BodyFields(route.body);
  if (auto* refusal = std::get_if<HttpAnswer>(&fields)) return std::move(*refusal);
  request.kind = ApiKind::kPut;
  request.patch.fields = std::get<std::map<std::string, Value>>(std::move(fields));
  return request;
}

HttpAnswer ToHttpAnswer(const RecordRoute& route, const ApiRequest& request,
                        const Result<ApiResponse>& response) {
  if (!response.ok()) {
    return ErrorAnswer(503, response.status().message());
  }
  if (!response->status.ok()) {
    const Status& status = response->status;
    return ErrorAnswer(HttpStatusOf(status.code()), status.message(), FieldOf(status.message()));
  }
  switch (request.kind) {
    case ApiKind::kList:
      return {200, PageJson(route, request.list, response->page)};
    case ApiKind::kHistory: {
      ordered_json out;
      out["table"] = TableName(request.patch.table);
      out["id"] = request.patch.id;
      out["history"] = ordered_json::array();
      for (const HistoryEntry& entry : response->history) {
        out["history"].push_back(HistoryToJson(entry));
      }
      return {200, std::move(out)};
    }
    default: {
      if (!response->record) return ErrorAnswer(503, "the daemon's answer has no record");
      ordered_json out = RecordToJson(*response->record);
      // A merged person's old number answers with the kept record, and says so (as syncctl get).
      if (!response->redirected_from.empty()) out["redirected_from"] = response->redirected_from;
      return {200, std::move(out)};
    }
  }
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0x0f];
  }
  return out;
}

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Invalid("odd number of hex digits");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return Invalid("not a hex digit");
    out += static_cast<char>((high << 4) | low);
  }
  return out;
}

int JsonNestingDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string DumpJson(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace stationsync
