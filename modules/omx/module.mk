# The IL core is opened with dlopen at run time: only the Khronos headers
# (Debian libomxil-bellagio-dev, in /usr/include) are needed to build.
omx_LIBS := -ldl
