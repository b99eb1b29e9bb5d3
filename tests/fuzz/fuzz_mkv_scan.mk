# The Matroska walker the recorder reads every frame with.
fuzz_mkv_scan_SRCS := common/mkv_scan.c common/ebml.c
