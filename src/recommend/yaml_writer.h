// The one YAML writer of src/recommend/ (private to the folder): how a scalar, a key and a
// comment line are written, an object tree as YAML, and the evidence text written above a peer.
// The policy writers (render.cc, cilium_emit.cc, calico_emit.cc through `emit::` in
// recommend.h) all go through it, so every output kind escapes alike.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "recommend/recommend.h"

namespace stockade::rec {

using ojson = nlohmann::ordered_json;

// Text that goes into a YAML comment: one line whatever it holds (see yaml_writer.cc).
std::string comment_text(std::string_view s);
// What was observed of a peer, raw (for a JSON member) and escaped for a comment line.
std::string evidence_text_raw(const PeerEvidence& e, const std::vector<std::string>* names);
std::string evidence_text(const PeerEvidence& e, const std::vector<std::string>* names);
// A scalar as YAML reads it back: a JSON literal, characters outside the BMP as \UXXXXXXXX.
std::string yaml_scalar(const ojson& v);
// Whether a key may be written without quotes.
bool plain_key(std::string_view k);
// Writes the members of an object at `indent`; when `item`, the first line starts with "- ".
// A "#" member of an array element becomes a comment line above it.
void yaml_object(const ojson& obj, int indent, std::string& out, bool item);

}  // namespace stockade::rec
