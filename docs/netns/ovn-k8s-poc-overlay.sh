#!/bin/bash
# The node as shettyg/ovn-k8s-poc's Example_overlay.md describes it, for execnet's netns runtime
# (--ovs): OVS with external_ids ovn-remote and lswitch (the logical switch made for this host),
# the integration bridge br-int (userspace datapath; no ovn-controller, so it switches NORMAL),
# docker's bridge docker0 left without address (the plugin rebuilds every eth0 onto br-int) and
# the node's gateway address ($SUBNET, docker's --bip) on br-int. ovn-nbctl is stubbed with
# --node-file; docker-py 1.10.6 under Python 2.7 is /usr/bin/python (--node-file).
set -ex
gw=$EXECNET_POD_GATEWAY
plen=$EXECNET_POD_PREFIX
ovs-vsctl set Open_vSwitch . external_ids:ovn-remote="tcp:127.0.0.1:6641" \
    external_ids:ovn-encap-ip=127.0.0.1 external_ids:ovn-encap-type=geneve \
    external_ids:lswitch=ls-node1
ovs-vsctl add-br br-int -- set bridge br-int datapath_type=netdev
ip link add "$EXECNET_DOCKER_BRIDGE" type bridge
ip link set "$EXECNET_DOCKER_BRIDGE" up
ip addr add "$gw/$plen" dev br-int
ip link set br-int up
