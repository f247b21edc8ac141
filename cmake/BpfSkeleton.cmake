# Compiles the agent's kernel programs (bpf/*.bpf.c) with clang for the BPF target against
# the checked-in vmlinux.h, links them into one object with bpftool and generates the libbpf
# skeleton header ${OUT_DIR}/stockade.skel.h.
function(stockade_bpf_skeleton)
  cmake_parse_arguments(ARG "" "OUT_DIR;NAME" "SOURCES" ${ARGN})
  find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
  find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    set(arch x86)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
    set(arch arm64)
  else()
    set(arch ${CMAKE_SYSTEM_PROCESSOR})
  endif()
  set(bpf_dir ${PROJECT_SOURCE_DIR}/bpf)
  file(GLOB headers ${bpf_dir}/*.h)
  set(objects)
  foreach(src ${ARG_SOURCES})
    get_filename_component(base ${src} NAME_WE)
    set(obj ${ARG_OUT_DIR}/${base}.bpf.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${arch} -Wall -Werror
              -I${bpf_dir} -c ${src} -o ${obj}
      DEPENDS ${src} ${headers}
      COMMENT "BPF ${base}.bpf.c"
      VERBATIM)
    list(APPEND objects ${obj})
  endforeach()
  set(linked ${ARG_OUT_DIR}/${ARG_NAME}.bpf.o)
  set(skel ${ARG_OUT_DIR}/${ARG_NAME}.skel.h)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen object ${linked} ${objects}
    COMMAND ${BPFTOOL} gen skeleton ${linked} name ${ARG_NAME}_bpf > ${skel}
    DEPENDS ${objects}
    COMMENT "BPF skeleton ${ARG_NAME}.skel.h"
    VERBATIM)
  add_custom_target(${ARG_NAME}_bpf_skeleton DEPENDS ${skel})
endfunction()
