/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SAFELOCKD_H
#define SAFELOCKD_H

#include "vault.h"

/* Run the verifier until SIGINT or SIGTERM: 0, or 1 on a fatal error. */
int verifier_run(struct vault *vault);

#endif /* SAFELOCKD_H */
