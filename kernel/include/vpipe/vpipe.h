/* vpipe public API, all of it. Modules include this (or its parts) only. */
#ifndef VPIPE_VPIPE_H
#define VPIPE_VPIPE_H
#include <vpipe/frame.h>
#include <vpipe/module.h>
#endif
