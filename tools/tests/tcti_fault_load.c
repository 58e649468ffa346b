// SPDX-License-Identifier: GPL-2.0
/* Load the fault-injecting TCTI (tcti_fault.c) beside the running test. */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "tcti_fault.h"

struct slfault *slfault_load(const char *inner, char *tcti, size_t len)
{
	char self[PATH_MAX], lib[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	void *h;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	snprintf(lib, sizeof(lib), "%s/%s", dirname(self), SLFAULT_LIB);
	h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		printf("# %s\n", dlerror());
		return NULL;
	}
	snprintf(tcti, len, "%s:%s", lib, inner);
	return dlsym(h, "slfault");
}
