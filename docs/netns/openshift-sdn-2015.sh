#!/bin/bash
# The node as openshift-sdn's openshift-sdn-kube-subnet-setup.sh (2015-10-20) prepared it, for
# execnet's netns runtime (--ovs): OVS br0 (userspace datapath, OpenFlow13, fail-mode secure)
# with tun0 (the node's gateway port, ofport 2), lbr0 as docker's bridge (docker ran with -b=lbr0)
# joined to br0 by vlinuxbr/vovsbr (ofport 9), lbr0's connected route removed and the cluster
# network routed via tun0, and /etc/openshift-sdn/config.env. The flows the Go node agent kept
# are reduced to delivery to the node (tun0) and from it; the plugin adds one ip and one arp flow
# per pod. Told by execnet: EXECNET_POD_GATEWAY, EXECNET_POD_CIDR, EXECNET_POD_PREFIX,
# EXECNET_DOCKER_BRIDGE (lbr0).
set -ex
gw=$EXECNET_POD_GATEWAY
cidr=$EXECNET_POD_CIDR
plen=$EXECNET_POD_PREFIX
cluster=${CLUSTER_NETWORK:-10.1.0.0/16}
ovs-vsctl add-br br0 -- set Bridge br0 fail-mode=secure datapath_type=netdev
ovs-vsctl set bridge br0 protocols=OpenFlow13
ovs-vsctl add-port br0 tun0 -- set Interface tun0 type=internal ofport_request=2
ip link add vlinuxbr type veth peer name vovsbr
ip link set vlinuxbr up
ip link set vovsbr up
ovs-vsctl add-port br0 vovsbr -- set Interface vovsbr ofport_request=9
ip link add lbr0 type bridge
ip addr add "$gw/$plen" dev lbr0
ip link set lbr0 up
ip link set vlinuxbr master lbr0
ip addr add "$gw/$plen" dev tun0
ip link set tun0 up
ip route add "$cluster" dev tun0 proto kernel scope link
ip route del "$cidr" dev lbr0 proto kernel scope link src "$gw" || true
ovs-ofctl -O OpenFlow13 add-flow br0 "table=0,priority=50,arp,nw_dst=$gw,actions=output:2"
ovs-ofctl -O OpenFlow13 add-flow br0 "table=0,priority=50,ip,nw_dst=$gw,actions=output:2"
mkdir -p /etc/openshift-sdn
echo "export OPENSHIFT_CLUSTER_SUBNET=$cluster" > /etc/openshift-sdn/config.env
