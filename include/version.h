/* SPDX-License-Identifier: ISC */
/*
 * version.h - the release of tern, as ternd -V prints it.
 */
#ifndef TERN_VERSION_H
#define TERN_VERSION_H

#define TERN_VERSION	"0.9"

#endif
