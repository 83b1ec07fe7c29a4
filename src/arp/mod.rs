//! ARP and IPv6 neighbour discovery: the frames, the send plan, and the raw socket that sends
//! and receives them. The engine behind `garp` and `vip-bind --dad`.
//!
//! Three layers, each importing only the ones below it:
//! - `frame`: pure. [`Arp`] builds and parses the 42-byte Ethernet ARP frames that
//!   `arping` sends (request, reply, RFC 5227 probe), [`Nd`] the IPv6 neighbour solicitation and
//!   advertisement frames (`ndisc6`/`ndsend` equivalents) with their ICMPv6 checksum, and
//!   [`answer_from`] says whether a received frame is another host answering for an address.
//! - `filter`: pure. [`filter::claims`], the classic BPF program a watching socket attaches
//!   so that the kernel queues only the frames that can claim a watched address.
//! - `socket`: [`PacketSocket`], a thin `AF_PACKET` wrapper (the socket `arping` opens) used for
//!   both families. Every raw system call of the module is there, behind its safe methods.
//! - `engine`: [`execute`] sends a [`Plan`] on schedule (arping's `-c`/`-i`/`-w`) and, for a
//!   duplicate probe, listens for an answer; [`probe`] is `arping -D` in one call.
//!
//! IPv6 goes through `AF_PACKET` too rather than a raw ICMPv6 socket, because a duplicate-address
//! probe must come from `::` (a raw socket picks a real source address), an announcement made
//! with `--force` names an address the host does not hold (a raw socket cannot bind it), and the
//! bytes on the wire, hop limit 255 included, are then exactly the ones our unit tests check.

mod engine;
pub mod filter;
mod frame;
mod socket;

pub use engine::{Plan, duplicate, ethernet_mac, execute, probe, until};
pub use frame::{
    ALL_NODES, Arp, ArpOp, BROADCAST, ETH_P_ARP, ETH_P_IPV6, Mac, NA_OVERRIDE, NA_ROUTER,
    NA_SOLICITED, Nd, NdKind, Packet, PacketType, answer_from, icmpv6_checksum, mac_to_string,
    multicast_mac, solicited_node,
};
pub use socket::PacketSocket;
