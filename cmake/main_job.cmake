# The README's main job, run as `cmake -P cmake/main_job.cmake` after the release build:
#  1. the kernels' benchmark figures, with OpenBLAS sgemm and the machine's measured limits (FMA
#     peak, memory bandwidth) beside them, so each kernel's distance to the best library and to the
#     hardware is visible;
#  2. one offline round of the optimisation loop on a copy of the fixture kernel repository, fed
#     by recorded model replies (a real speed-up that is promoted, then a slower candidate that is
#     rejected), followed by `rlvr status`, the promotion commit and `rlvr report`.
# Set RLVR_BENCH_FILTER to choose other benchmarks (a Google Benchmark regex).
cmake_minimum_required(VERSION 3.25)

get_filename_component(root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(build "${root}/build/release")
set(rlvr "${build}/rlvr")
set(bench "${build}/tests/rlvr_bench")
foreach(binary IN ITEMS "${rlvr}" "${bench}")
  if(NOT EXISTS "${binary}")
    message(FATAL_ERROR "${binary} is missing: build first with "
                        "`cmake --preset release && cmake --build --preset release`")
  endif()
endforeach()

function(run)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "\$ ${shown}")
  execute_process(COMMAND ${ARGN} COMMAND_ERROR_IS_FATAL ANY)
endfunction()

set(filter "$ENV{RLVR_BENCH_FILTER}")
if(filter STREQUAL "")
  set(filter "^BM_(Gemm/(256|1024)|OpenBlasSgemm/(256|1024)|PeakFma|MemBandwidth|Linear|MatVec/4096|Softmax|RmsNorm/4096|Attention/(512|2048)|Sampler_TopP|MatVecQ(8|4)_0|ToyLmForward|DecodeMvp/256|Decode85M/512)")
endif()
message(STATUS "Kernel benchmarks (GFLOPS, GB/s, tokens/s and bw_share are per second of wall time):")
run("${bench}" "--benchmark_filter=${filter}" --benchmark_counters_tabular=true)

set(demo "${build}/demo-repo")
message(STATUS "One offline round of the loop on a copy of tests/fixtures/tiny_repo in ${demo}")
file(REMOVE_RECURSE "${demo}")
file(COPY "${root}/tests/fixtures/tiny_repo/" DESTINATION "${demo}")
run(git -C "${demo}" init -q -b main)
run(git -C "${demo}" add -A)
run(git -C "${demo}" -c user.name=rlvr -c user.email=rlvr@localhost commit -q -m "Fixture kernel repository")
run("${rlvr}" iterate -C "${demo}" --llm "replay:${root}/tests/fixtures/demo_replies" -n 1 --no-sanitizers)
run("${rlvr}" status -C "${demo}")
run(git -C "${demo}" log --stat -2)
run("${rlvr}" report -C "${demo}")
