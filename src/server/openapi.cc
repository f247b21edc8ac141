// GET /api/v1/openapi.json: the HTTP interface of `stockade serve` as an OpenAPI 3.0 document
// (docs/cli.md is the prose). tests/server/serve_test.cc checks that every documented operation
// answers something other than 404 and that the document lists the routes the server has.
#include "server/openapi.h"

#include "core/version.h"

namespace stockade::server {

namespace {

constexpr const char* kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "Stockade server",
    "description": "The loop that keeps running: flow records in, the map, the live audit and the baselines out. Errors are {\"error\": \"one line\"}.",
    "version": "@VERSION@"
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
      "Baseline": {
        "type": "object",
        "required": ["namespace", "state", "since"],
        "properties": {
          "namespace": {"type": "string"},
          "state": {"type": "string", "enum": ["learning", "stable", "locked"]},
          "since": {"type": "string", "format": "date-time"},
          "locked_by": {"type": "string"}
        }
      }
    },
    "responses": {
      "Error": {"description": "A one-line reason", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/healthz": {"get": {"summary": "Alive", "security": [], "responses": {"200": {"description": "ok"}}}},
    "/readyz": {"get": {"summary": "Objects loaded and store open", "security": [], "responses": {"200": {"description": "ok"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/metrics": {"get": {"summary": "Prometheus text exposition", "security": [], "responses": {"200": {"description": "metrics", "content": {"text/plain": {}}}}}},
    "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.0"}}}},
    "/api/v1/flows": {"post": {
      "summary": "Flow records as --flows reads them (NDJSON; Content-Encoding: gzip allowed); answered once durable",
      "requestBody": {"required": true, "content": {"application/x-ndjson": {}}},
      "responses": {
        "200": {"description": "accepted", "content": {"application/json": {"schema": {"type": "object", "required": ["accepted", "skipped"], "properties": {"accepted": {"type": "integer"}, "skipped": {"type": "integer"}, "problems": {"type": "array", "items": {"type": "string"}}}}}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
        "413": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/map": {"get": {
      "summary": "The object stockade map -o json prints for the same objects and records",
      "parameters": [
        {"name": "by", "in": "query", "schema": {"type": "string", "enum": ["pod", "workload", "namespace"], "default": "workload"}},
        {"name": "since", "in": "query", "description": "RFC 3339 or a duration before now (24h)", "schema": {"type": "string"}},
        {"name": "until", "in": "query", "schema": {"type": "string"}},
        {"name": "format", "in": "query", "description": "columns: the edges as one array per field (edge_columns; src/dst index nodes, times in seconds since the epoch, 0 for none), the web console's form", "schema": {"type": "string", "enum": ["objects", "columns"], "default": "objects"}}],
      "responses": {"200": {"description": "the map", "content": {"application/json": {}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/verify": {"get": {
      "summary": "The object stockade verify -o json prints for the same objects and records: each observed edge's verdict and deciding rule",
      "parameters": [
        {"name": "by", "in": "query", "schema": {"type": "string", "enum": ["pod", "workload", "namespace"], "default": "workload"}},
        {"name": "since", "in": "query", "schema": {"type": "string"}},
        {"name": "until", "in": "query", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "the verdicts", "content": {"application/json": {}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/recommendations": {"get": {
      "summary": "What stockade recommend -o json prints for the same objects and every record and batch kept",
      "parameters": [
        {"name": "namespace", "in": "query", "description": "only this namespace's policies", "schema": {"type": "string"}},
        {"name": "acceptBlocked", "in": "query", "description": "answer even when observed edges in force would be blocked", "schema": {"type": "boolean"}}],
      "responses": {"200": {"description": "a List of NetworkPolicies", "content": {"application/json": {}}},
        "409": {"$ref": "#/components/responses/Error"}, "500": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/simulate": {"post": {
      "summary": "What stockade diff --flows -o json prints from the policies in force to those plus the body's (a body policy with the kind, namespace and name of one in force replaces it), over every record and batch kept",
      "parameters": [{"name": "by", "in": "query", "schema": {"type": "string", "enum": ["pod", "workload", "namespace"], "default": "workload"}}],
      "requestBody": {"required": true, "content": {"application/yaml": {}, "application/json": {}}},
      "responses": {"200": {"description": "the changes", "content": {"application/json": {}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
        "413": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/events": {"get": {
      "summary": "Server-sent events: a hello event with what the data is now, then a change event whenever records, agent batches, the objects, the audit or the baselines change (changes close together are one event); a comment line every 15 s. At most half the server's threads stream at once (503 with Retry-After past that: poll /api/v1/map with If-None-Match instead)",
      "responses": {"200": {"description": "text/event-stream; each event's data: {\"generation\":N,\"records\":N,\"agent_batches\":N,\"audit_events\":N,\"baselines\":{\"learning\":N,\"stable\":N,\"locked\":N},\"writes\":N}", "content": {"text/event-stream": {}}},
        "401": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/posture": {"get": {
      "summary": "The object stockade scan -o json prints for the objects in force (default options): findings (the policy category included), suppressed findings, the ranked workloads, the summary",
      "responses": {"200": {"description": "the scan", "content": {"application/json": {}}}, "401": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/apply": {"post": {
      "summary": "Server-side apply of the body's policies as stockade apply does it, for the requesting user (each object authorized for them by SubjectAccessReview, then written by the server); 409 when the server reads files rather than a cluster",
      "parameters": [
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "enum": ["All"]}},
        {"name": "force", "in": "query", "description": "take over fields another field manager owns", "schema": {"type": "boolean"}}],
      "requestBody": {"required": true, "content": {"application/yaml": {}, "application/json": {}}},
      "responses": {"200": {"description": "what stockade apply -o json prints", "content": {"application/json": {}}},
        "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
        "409": {"description": "conflicts with other field managers (nothing applied), or no cluster to apply to", "content": {"application/json": {}}},
        "422": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/audit": {"get": {
      "summary": "Audit events in time order: denied edges, edges outside a locked baseline, and threat signals (port scans, host sweeps, SYN/UDP/ICMP floods; detail: the signal as stockade detect -o json prints it)",
      "parameters": [
        {"name": "since", "in": "query", "schema": {"type": "string"}},
        {"name": "until", "in": "query", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}},
        {"name": "after", "in": "query", "description": "the previous page's next", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {"type": "object", "required": ["events"], "properties": {
        "events": {"type": "array", "items": {"type": "object", "properties": {
          "id": {"type": "integer"}, "time": {"type": "string", "format": "date-time"},
          "kind": {"type": "string", "enum": ["denied", "outside-baseline", "port-scan", "host-sweep", "syn-flood", "udp-flood", "icmp-flood"]},
          "src": {"type": "string"}, "dst": {"type": "string"}, "protocol": {"type": "string"},
          "port": {"type": "integer"}, "process": {"type": "string"}, "detail": {"type": "object"}}}},
        "next": {"type": "string"}}}}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/baselines": {"get": {
      "summary": "Namespace baselines with each workload's coverage",
      "responses": {"200": {"description": "the baselines", "content": {"application/json": {}}}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/baselines/{namespace}/lock": {"post": {
      "summary": "Lock a namespace's baseline: every edge new after it is an audit event",
      "parameters": [{"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "locked", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Baseline"}}}},
        "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/baselines/{namespace}/unlock": {"post": {
      "summary": "Unlock it: learning again",
      "parameters": [{"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "unlocked", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Baseline"}}}},
        "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/agent/batches": {"post": {
      "summary": "A node agent's batch of aggregated edges (docs/agent-batches.md); answered once durable",
      "requestBody": {"required": true, "content": {"application/json": {}}},
      "responses": {
        "200": {"description": "stored, or a replay acknowledged", "content": {"application/json": {"schema": {"type": "object", "properties": {"stored": {"type": "boolean"}, "edges": {"type": "integer"}, "next_interval_ms": {"type": "integer"}}}}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
        "413": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"},
        "503": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/shadow": {"get": {
      "summary": "Staged (shadow) policy sets, each with the summary of its counts since it was staged",
      "responses": {"200": {"description": "{\"staged\":[{name, staged_at, staged_by, policies, summary}]}", "content": {"application/json": {}}}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/shadow/{name}": {
      "post": {
        "summary": "Stage a policy set under a name (or replace the set of that name): evaluated against incoming traffic, not applied",
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"}}],
        "requestBody": {"required": true, "content": {"application/yaml": {}, "application/json": {}}},
        "responses": {"201": {"description": "staged", "content": {"application/json": {}}}, "200": {"description": "replaced", "content": {"application/json": {}}},
          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}},
      "get": {
        "summary": "What the staged set would do to the traffic kept since it was staged (or since): per policy and rule, the edges it would allow and block, with examples; the edges it would newly block or allow",
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
          {"name": "since", "in": "query", "description": "RFC 3339 or a duration before now (default: when staged)", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "{name, staged_at, since, policies:[{kind, namespace, name, allowed, blocked, rules:[{direction, rule, what, allowed, blocked, examples}]}], summary:{edges, allowed, blocked, newly_blocked, newly_allowed, records}}", "content": {"application/json": {}}},
          "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
      "delete": {
        "summary": "Drop a staged set",
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "{\"deleted\": name}", "content": {"application/json": {}}}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/shadow/{name}/promote": {"post": {
      "summary": "Apply the staged set as POST /api/v1/apply does (as the requesting user); once applied (not a dry run) it is no longer staged; 409 when the server reads files rather than a cluster",
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "enum": ["All"]}}],
      "responses": {"200": {"description": "what stockade apply -o json prints", "content": {"application/json": {}}},
        "404": {"$ref": "#/components/responses/Error"}, "409": {"description": "conflicts, or no cluster to apply to", "content": {"application/json": {}}}}}},
    "/admission/validate": {"post": {
      "summary": "Validating webhook (AdmissionReview v1): a policy change that would deny observed traffic is refused (--admission enforce) or warned about (warn)",
      "security": [],
      "requestBody": {"required": true, "content": {"application/json": {}}},
      "responses": {"200": {"description": "the AdmissionReview with its response", "content": {"application/json": {}}}, "400": {"$ref": "#/components/responses/Error"}}}},
    "/": {"get": {"summary": "The web console (the page holds no data; its API calls carry the token)", "security": [], "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}}
  }
})json";

}  // namespace

std::string openapi_document() {
  std::string doc = kDocument;
  const std::string key = "@VERSION@";
  doc.replace(doc.find(key), key.size(), kVersion);
  return doc;
}

}  // namespace stockade::server
