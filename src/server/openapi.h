// The OpenAPI 3.0 document of the server's HTTP interface (GET /api/v1/openapi.json).
#pragma once

#include <string>

namespace stockade::server {

std::string openapi_document();

}  // namespace stockade::server
