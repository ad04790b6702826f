/* NAT for a topology's guests through libnftables: one table per topology,
 * holding one masquerade rule, created and deleted as a unit, and the
 * ip_forward switch that routing needs.
 *
 * Topologies share ip_forward: the first NAT table saves the value it finds
 * in <state root>/net-ip_forward.saved (platforms/state.h) and sets 1; the
 * deletion that leaves no NAT table of virtlab restores the saved value and
 * removes the file. So `virtlab cleanup` deleting a killed run's table
 * restores ip_forward too. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"

/* Tables virtlab makes are "inet virtlab_nat_<id>"; cleanup matches this. */
#define VL_NAT_TABLE_PREFIX "virtlab_nat"

/* Creates table `inet <table>` whose postrouting chain masquerades what
 * leaves out_dev from subnet ("10.213.1.0/24"), in one transaction, and
 * turns ip_forward on. */
int vl_nat_create(const char *table, const char *subnet, const char *out_dev, vl_error *err);
/* Deletes `inet <table>` (a missing table is not an error) and restores
 * ip_forward when it was the last. */
int vl_nat_delete(const char *table, vl_error *err);
/* Names of inet tables starting with prefix; free with vl_netlink_names_free. */
int vl_nat_list_tables(const char *prefix, char ***names, size_t *count, vl_error *err);
