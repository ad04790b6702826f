/* rtnetlink through libmnl: one request, one acknowledgement (see netlink.h). */
#include "runtime/netlink.h"
#include "runtime/netns.h"
#include "core/cleanup.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Large enough for a link dump's batches. */
#define RECV_SIZE 32768
#define SEND_SIZE 1024

/* tbf: the queue holds this much traffic beyond the burst before dropping. */
#define TBF_LATENCY_S 0.02
/* Smallest burst: a GSO packet of a few segments must fit, or tbf has to cut
 * every one of them up. */
#define TBF_MIN_BURST 65536u

struct vl_netlink {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
};

static int open_here(void *arg, vl_error *err)
{
	struct vl_netlink *nl = arg;

	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock)
		return vl_error_errno(err, errno, "opening an rtnetlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return vl_error_errno(err, e, "binding an rtnetlink socket");
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
}

int vl_netlink_open(int netns_fd, struct vl_netlink **out, vl_error *err)
{
	struct vl_netlink *nl = calloc(1, sizeof(*nl));
	int rc;

	if (!nl)
		return vl_error_errno(err, ENOMEM, "opening an rtnetlink socket");
	nl->seq = (unsigned)time(NULL);
	rc = netns_fd >= 0 ? vl_netns_run(netns_fd, open_here, nl, err) : open_here(nl, err);
	if (rc < 0) {
		free(nl);
		return -1;
	}
	*out = nl;
	return 0;
}

void vl_netlink_close(struct vl_netlink *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/* Sends nlh with an acknowledgement requested and runs cb (may be NULL) on
 * each reply until the acknowledgement or the end of a dump. Fails with
 * errno set to the kernel's error. */
static int exchange(struct vl_netlink *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	cleanup_free char *buf = malloc(RECV_SIZE);
	unsigned seq = ++nl->seq;
	ssize_t len;
	int rc;

	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -1;
	do {
		len = mnl_socket_recvfrom(nl->sock, buf, RECV_SIZE);
		if (len < 0)
			return -1;
		rc = mnl_cb_run(buf, (size_t)len, seq, nl->portid, cb, data);
	} while (rc > 0);
	return rc < 0 ? -1 : 0;
}

static struct nlmsghdr *new_link_msg(char *buf, uint16_t type, uint16_t flags, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static int check_ifname(const char *name, vl_error *err)
{
	if (!name[0] || strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
		return vl_error_input(err,
		                      "bad interface name '%s': at most %d characters, no "
		                      "'/' or spaces",
		                      name, IFNAMSIZ - 1);
	return 0;
}

static int create_kind(struct vl_netlink *nl, const char *name, const char *kind, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *info;

	if (check_ifname(name, err) < 0)
		return -1;
	nlh = new_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, info);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "creating %s %s", kind, name);
	return 0;
}

int vl_netlink_create_bridge(struct vl_netlink *nl, const char *name, vl_error *err)
{
	return create_kind(nl, name, "bridge", err);
}

int vl_netlink_create_dummy(struct vl_netlink *nl, const char *name, vl_error *err)
{
	return create_kind(nl, name, "dummy", err);
}

int vl_netlink_create_veth(struct vl_netlink *nl, const char *name, const char *peer,
                           int peer_netns_fd, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data, *peer_attr;
	struct ifinfomsg *peer_ifm;

	if (check_ifname(name, err) < 0 || check_ifname(peer, err) < 0)
		return -1;
	nlh = new_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of their own. */
	peer_ifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(peer_ifm, 0, sizeof(*peer_ifm));
	peer_ifm->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*peer_ifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "creating veth pair %s/%s", name, peer);
	return 0;
}

int vl_netlink_create_tap(const char *name, vl_error *err)
{
	cleanup_close int fd = -1;
	struct ifreq ifr;

	if (check_ifname(name, err) < 0)
		return -1;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vl_error_errno(err, errno, "creating tap %s: opening /dev/net/tun", name);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return vl_error_errno(err, errno, "creating tap %s", name);
	/* Persistent: it outlives this fd until deleted, for QEMU to open. */
	if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		return vl_error_errno(err, errno, "making tap %s persistent", name);
	return 0;
}

int vl_netlink_delete_link(struct vl_netlink *nl, const char *name, bool missing_ok, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;

	if (check_ifname(name, err) < 0)
		return -1;
	nlh = new_link_msg(buf, RTM_DELLINK, 0, name);
	if (exchange(nl, nlh, NULL, NULL) < 0) {
		if (missing_ok && errno == ENODEV)
			return 0;
		return vl_error_errno(err, errno, "deleting link %s", name);
	}
	return 0;
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)data = ifm->ifi_index;
	return MNL_CB_OK;
}

/* The index in the handle's namespace (if_nametoindex looks in ours). Fails
 * with errno ENODEV when there is no such link. */
static int link_index(struct vl_netlink *nl, const char *name, int *index)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh = new_link_msg(buf, RTM_GETLINK, 0, name);

	*index = 0;
	if (exchange(nl, nlh, link_index_cb, index) < 0)
		return -1;
	if (*index <= 0) {
		errno = ENODEV;
		return -1;
	}
	return 0;
}

static int find_index(struct vl_netlink *nl, const char *name, int *index, vl_error *err)
{
	if (check_ifname(name, err) < 0)
		return -1;
	if (link_index(nl, name, index) < 0)
		return vl_error_errno(err, errno, "looking up link %s", name);
	return 0;
}

int vl_netlink_link_exists(struct vl_netlink *nl, const char *name, bool *exists, vl_error *err)
{
	int index;

	if (check_ifname(name, err) < 0)
		return -1;
	if (link_index(nl, name, &index) == 0) {
		*exists = true;
		return 0;
	}
	if (errno != ENODEV)
		return vl_error_errno(err, errno, "looking up link %s", name);
	*exists = false;
	return 0;
}

struct name_list {
	const char *prefix;
	char **names;
	size_t count;
	bool failed;
};

static int list_links_cb(const struct nlmsghdr *nlh, void *data)
{
	struct name_list *l = data;
	struct nlattr *attr;
	const char *name = NULL;
	char **grown;

	mnl_attr_for_each(
	        attr, nlh,
	        sizeof(struct ifinfomsg)) if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
	                                      mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
	        name = mnl_attr_get_str(attr);
	if (!name || strncmp(name, l->prefix, strlen(l->prefix)) != 0)
		return MNL_CB_OK;
	grown = realloc(l->names, (l->count + 1) * sizeof(*grown));
	if (!grown) {
		l->failed = true;
		return MNL_CB_OK;
	}
	l->names = grown;
	if (!(l->names[l->count] = strdup(name)))
		l->failed = true;
	else
		l->count++;
	return MNL_CB_OK;
}

int vl_netlink_list_links(struct vl_netlink *nl, const char *prefix, char ***names, size_t *count,
                          vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh = new_link_msg(buf, RTM_GETLINK, NLM_F_DUMP, NULL);
	struct name_list l = {.prefix = prefix};

	*names = NULL;
	*count = 0;
	if (exchange(nl, nlh, list_links_cb, &l) < 0 || l.failed) {
		int e = l.failed ? ENOMEM : errno;
		vl_netlink_names_free(l.names, l.count);
		return vl_error_errno(err, e, "listing links");
	}
	*names = l.names;
	*count = l.count;
	return 0;
}

void vl_netlink_names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int vl_netlink_move_link(struct vl_netlink *nl, const char *name, int netns_fd, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;

	if (check_ifname(name, err) < 0)
		return -1;
	nlh = new_link_msg(buf, RTM_NEWLINK, 0, name);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "moving link %s to another network namespace",
		                      name);
	return 0;
}

int vl_netlink_set_up(struct vl_netlink *nl, const char *name, bool up, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (check_ifname(name, err) < 0)
		return -1;
	nlh = new_link_msg(buf, RTM_NEWLINK, 0, name);
	ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "setting link %s %s", name, up ? "up" : "down");
	return 0;
}

int vl_netlink_set_master(struct vl_netlink *nl, const char *name, const char *bridge,
                          vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	int index;

	if (check_ifname(name, err) < 0 || find_index(nl, bridge, &index, err) < 0)
		return vl_error_wrap(err, "adding %s to bridge %s", name, bridge);
	nlh = new_link_msg(buf, RTM_NEWLINK, 0, name);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)index);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "adding %s to bridge %s", name, bridge);
	return 0;
}

int vl_netlink_parse_cidr(const char *cidr, uint32_t *addr_be, unsigned *prefix, vl_error *err)
{
	char text[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	char *end;
	unsigned long p;
	struct in_addr a;

	if (!slash || (size_t)(slash - cidr) >= sizeof(text))
		return vl_error_input(err,
		                      "bad IPv4 prefix '%s': write ADDRESS/LENGTH, e.g. "
		                      "10.213.0.0/16",
		                      cidr);
	memcpy(text, cidr, (size_t)(slash - cidr));
	text[slash - cidr] = '\0';
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, text, &a) != 1 || end == slash + 1 || *end || errno || p > 32)
		return vl_error_input(err,
		                      "bad IPv4 prefix '%s': write ADDRESS/LENGTH, e.g. "
		                      "10.213.0.0/16",
		                      cidr);
	*addr_be = a.s_addr;
	*prefix = (unsigned)p;
	return 0;
}

int vl_netlink_add_address(struct vl_netlink *nl, const char *name, const char *cidr, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	uint32_t addr;
	unsigned prefix;
	int index;

	if (vl_netlink_parse_cidr(cidr, &addr, &prefix, err) < 0 ||
	    find_index(nl, name, &index, err) < 0)
		return vl_error_wrap(err, "adding address %s to %s", cidr, name);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "adding address %s to %s", cidr, name);
	return 0;
}

struct first_address {
	int index;
	uint32_t addr;
	unsigned prefix;
	bool found;
};

static int first_address_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct first_address *f = data;
	struct nlattr *attr;

	if (f->found || ifa->ifa_family != AF_INET || (int)ifa->ifa_index != f->index)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_type(attr) != IFA_LOCAL ||
		    mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			continue;
		f->addr = mnl_attr_get_u32(attr);
		f->prefix = ifa->ifa_prefixlen;
		f->found = true;
	}
	return MNL_CB_OK;
}

int vl_netlink_get_address(struct vl_netlink *nl, const char *name, char *cidr, size_t size,
                           vl_error *err)
{
	char buf[SEND_SIZE], text[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct first_address f = {0};

	cidr[0] = '\0';
	if (find_index(nl, name, &f.index, err) < 0)
		return vl_error_wrap(err, "reading the address of %s", name);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	if (exchange(nl, nlh, first_address_cb, &f) < 0)
		return vl_error_errno(err, errno, "reading the address of %s", name);
	if (f.found && inet_ntop(AF_INET, &f.addr, text, sizeof(text)))
		snprintf(cidr, size, "%s/%u", text, f.prefix);
	return 0;
}

int vl_netlink_add_route(struct vl_netlink *nl, const char *dst, const char *gateway,
                         const char *dev, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint32_t dst_addr = 0;
	unsigned prefix = 0;
	struct in_addr gw;
	int index = 0;

	if (strcmp(dst, "default") != 0 && vl_netlink_parse_cidr(dst, &dst_addr, &prefix, err) < 0)
		return vl_error_wrap(err, "adding route to %s", dst);
	if (gateway && inet_pton(AF_INET, gateway, &gw) != 1)
		return vl_error_input(err,
		                      "adding route to %s: bad gateway '%s': give an IPv4 "
		                      "address",
		                      dst, gateway);
	if (!gateway && !dev)
		return vl_error_input(err, "adding route to %s: give a gateway or a device", dst);
	if (dev && find_index(nl, dev, &index, err) < 0)
		return vl_error_wrap(err, "adding route to %s", dst);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefix)
		mnl_attr_put_u32(nlh, RTA_DST, dst_addr);
	if (gateway)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw.s_addr);
	if (index)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "adding route to %s via %s%s%s", dst,
		                      gateway ? gateway : "", gateway && dev ? " dev " : "",
		                      dev ? dev : "");
	return 0;
}

static struct nlmsghdr *new_qdisc_msg(char *buf, uint16_t type, uint16_t flags, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = index;
	tcm->tcm_parent = TC_H_ROOT;
	return nlh;
}

int vl_netlink_set_rate(struct vl_netlink *nl, const char *dev, uint64_t bits_per_sec,
                        vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	struct tc_tbf_qopt q;
	uint64_t bytes_per_sec = bits_per_sec / 8;
	uint64_t burst, limit;
	int index;

	if (bytes_per_sec == 0)
		return vl_error_input(err, "rate of %s: %llu bit/s is too low: give at least 8",
		                      dev, (unsigned long long)bits_per_sec);
	if (find_index(nl, dev, &index, err) < 0)
		return vl_error_wrap(err, "setting the rate of %s", dev);
	/* 10 ms worth of traffic, as tc's examples size the bucket. */
	burst = bytes_per_sec / 100;
	if (burst < TBF_MIN_BURST)
		burst = TBF_MIN_BURST;
	if (burst > UINT32_MAX / 2)
		burst = UINT32_MAX / 2;
	limit = (uint64_t)((double)bytes_per_sec * TBF_LATENCY_S) + burst;
	if (limit > UINT32_MAX)
		limit = UINT32_MAX;
	memset(&q, 0, sizeof(q));
	/* An explicit link layer spares us the rate table tc would send. */
	q.rate.linklayer = TC_LINKLAYER_ETHERNET;
	q.rate.rate = bytes_per_sec > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes_per_sec;
	q.limit = (uint32_t)limit;
	nlh = new_qdisc_msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, index);
	mnl_attr_put_strz(nlh, TCA_KIND, "tbf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_TBF_PARMS, sizeof(q), &q);
	if (bytes_per_sec > UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_TBF_RATE64, bytes_per_sec);
	/* In bytes; the kernel derives the bucket's time from it. */
	mnl_attr_put_u32(nlh, TCA_TBF_BURST, (uint32_t)burst);
	mnl_attr_nest_end(nlh, opts);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "setting the rate of %s to %llu bit/s (tbf)", dev,
		                      (unsigned long long)bits_per_sec);
	return 0;
}

/* Every packet of any protocol: one u32 key matching anything. */
static void put_match_all(struct nlmsghdr *nlh)
{
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} sel;

	memset(&sel, 0, sizeof(sel));
	sel.sel.flags = TC_U32_TERMINAL;
	sel.sel.nkeys = 1;
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel), &sel);
}

static void put_redirect(struct nlmsghdr *nlh, int to_index)
{
	struct nlattr *acts, *act, *opts;
	struct tc_mirred m;

	memset(&m, 0, sizeof(m));
	m.action = TC_ACT_STOLEN;
	m.eaction = TCA_EGRESS_REDIR;
	m.ifindex = (uint32_t)to_index;
	acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	act = mnl_attr_nest_start(nlh, 1); /* the first action of the list */
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	opts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
	mnl_attr_nest_end(nlh, opts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
}

int vl_netlink_set_ingress_rate(struct vl_netlink *nl, const char *dev, const char *ifb,
                                uint64_t bits_per_sec, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	struct tcmsg *tcm;
	int index, ifb_index;

	if (find_index(nl, dev, &index, err) < 0 || create_kind(nl, ifb, "ifb", err) < 0 ||
	    vl_netlink_set_up(nl, ifb, true, err) < 0 ||
	    vl_netlink_set_rate(nl, ifb, bits_per_sec, err) < 0 ||
	    find_index(nl, ifb, &ifb_index, err) < 0)
		return vl_error_wrap(err, "setting the ingress rate of %s", dev);
	nlh = new_qdisc_msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, index);
	tcm = mnl_nlmsg_get_payload(nlh);
	tcm->tcm_parent = TC_H_INGRESS;
	tcm->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "adding an ingress qdisc to %s", dev);
	nlh = new_qdisc_msg(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, index);
	tcm = mnl_nlmsg_get_payload(nlh);
	tcm->tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0);
	tcm->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL)); /* priority 1, any protocol */
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	put_match_all(nlh);
	put_redirect(nlh, ifb_index);
	mnl_attr_nest_end(nlh, opts);
	if (exchange(nl, nlh, NULL, NULL) < 0)
		return vl_error_errno(err, errno, "redirecting what enters %s to %s (u32, mirred)",
		                      dev, ifb);
	return 0;
}

int vl_netlink_clear_rate(struct vl_netlink *nl, const char *dev, vl_error *err)
{
	char buf[SEND_SIZE];
	struct nlmsghdr *nlh;
	int index;

	if (find_index(nl, dev, &index, err) < 0)
		return vl_error_wrap(err, "clearing the rate of %s", dev);
	nlh = new_qdisc_msg(buf, RTM_DELQDISC, 0, index);
	/* ENOENT / EINVAL: only the default qdisc is there. */
	if (exchange(nl, nlh, NULL, NULL) < 0 && errno != ENOENT && errno != EINVAL)
		return vl_error_errno(err, errno, "clearing the rate of %s", dev);
	return 0;
}
