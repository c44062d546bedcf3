//! Routing: connections and their rates, the peer table, tasks and their work, offers, claims and the one input every message arrives through.

pub(in crate::hub) mod claims;
pub(in crate::hub) mod conns;
pub(in crate::hub) mod dispatch;
pub(in crate::hub) mod endings;
pub(in crate::hub) mod inbound;
pub(in crate::hub) mod input;
pub(in crate::hub) mod net_group;
pub(in crate::hub) mod offers;
pub(in crate::hub) mod origin;
pub(in crate::hub) mod peers;
pub(in crate::hub) mod rates;
pub(in crate::hub) mod replication;
pub(in crate::hub) mod tasks;
