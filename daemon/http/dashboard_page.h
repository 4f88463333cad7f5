// The dashboard's page (GET /): daemon/http/assets/dashboard.html, embedded in the binary when
// it is built (daemon/CMakeLists.txt writes it into a generated dashboard_page.cc as a raw
// string), so syncd serves it with no file beside it and no outside asset.
#pragma once

#include <string_view>

namespace stationsync {

// The whole page (HTML with its CSS and script inline), UTF-8.
std::string_view DashboardPage();

}  // namespace stationsync
