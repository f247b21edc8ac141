# stockade_embed_text(INPUT <file> OUTPUT <generated .cc> NAMESPACE <ns> SYMBOL <name>)
#
# Adds a custom command that generates, at build time, a .cc file defining
#   namespace <ns> { extern const char <name>[]; extern const size_t <name>_size; }
# with the bytes of <file> as a char array (one '\xHH' literal per byte, so the input may contain
# anything: quotes, backslashes, "*/", NUL, invalid UTF-8). The array has one extra '\0' after the
# data, so it is also a C string; <name>_size does not count it.
# The .cc is regenerated whenever <file> (or the generator script) changes. Add OUTPUT to a
# target's sources; if <file> is itself the OUTPUT of a custom command in the same directory,
# CMake orders the two commands.
#
# Header to declare the symbols (e.g. for NAMESPACE stockade::web SYMBOL kMapHtml):
#   #include <cstddef>
#   namespace stockade::web { extern const char kMapHtml[]; extern const size_t kMapHtml_size; }
include_guard(GLOBAL)

set(STOCKADE_EMBED_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/EmbedTextScript.cmake")

function(stockade_embed_text)
  cmake_parse_arguments(PARSE_ARGV 0 E "" "INPUT;OUTPUT;NAMESPACE;SYMBOL" "")
  foreach(arg INPUT OUTPUT NAMESPACE SYMBOL)
    if(NOT E_${arg})
      message(FATAL_ERROR "stockade_embed_text: ${arg} is required")
    endif()
  endforeach()
  if(E_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "stockade_embed_text: unexpected arguments: ${E_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT E_SYMBOL MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "stockade_embed_text: SYMBOL '${E_SYMBOL}' is not a C++ identifier")
  endif()
  if(NOT E_NAMESPACE MATCHES "^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$")
    message(FATAL_ERROR "stockade_embed_text: NAMESPACE '${E_NAMESPACE}' is not a C++ namespace")
  endif()
  get_filename_component(input "${E_INPUT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(output "${E_OUTPUT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  get_filename_component(name "${input}" NAME)
  add_custom_command(
    OUTPUT "${output}"
    COMMAND "${CMAKE_COMMAND}" "-DINPUT=${input}" "-DOUTPUT=${output}"
            "-DNAMESPACE=${E_NAMESPACE}" "-DSYMBOL=${E_SYMBOL}" -P "${STOCKADE_EMBED_SCRIPT}"
    DEPENDS "${input}" "${STOCKADE_EMBED_SCRIPT}"
    COMMENT "Embedding ${name} as ${E_NAMESPACE}::${E_SYMBOL}"
    VERBATIM)
endfunction()
