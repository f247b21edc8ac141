// Fuzzes the agent batch decoder (gzip + JSON + validation) and the graph it feeds: any body
// is a batch or a one-line error; a decoded batch encodes and decodes to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "flow/agent_batch.h"
#include "input/loader.h"

namespace {

const stockade::ClusterState& cluster() {
  static const stockade::ClusterState state = [] {
    stockade::ClusterLoader l;
    (void)l.add_text(R"(
apiVersion: v1
kind: Pod
metadata: {name: a-7d9f8c6b5d-aaaaa, namespace: x, uid: u1, labels: {app: a}}
status: {podIP: 10.0.0.1}
)",
                     "cluster.yaml");
    return std::move(l).finish();
  }();
  return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  // Both as it comes (JSON, or gzip when it starts with the magic) and gzipped.
  for (int pass = 0; pass < 2; ++pass) {
    std::string zipped;
    if (pass == 1) {
      if (size > 4096) break;
      zipped = stockade::batch::gzip(body);
    }
    auto b = stockade::batch::decode(pass == 0 ? body : std::string_view(zipped));
    if (!b) {
      if (b.error().str().empty() || b.error().str().find('\n') != std::string::npos) std::abort();
      continue;
    }
    auto again = stockade::batch::decode(stockade::batch::encode_json(*b));
    if (!again || !(*again == *b)) std::abort();
    static const auto eps = stockade::build_endpoints(cluster());
    stockade::EdgeGraph g(cluster(), eps, stockade::GraphOptions{});
    stockade::batch::add_to_graph(*b, g);
    (void)g.edges();
  }
  return 0;
}
