//! What relays send one another, as the relay's NATS adapter carries it: forwarded task frames
//! to the relay named, task records to every relay (and the stream a restarted relay reads),
//! attestation requests to every other relay and their answers back, and announcements when a
//! test (or the simulation's timer) says so. Relays die and restart here too.

use edgenet_core::ErrorCode;
use edgenet_core::NodeId;
use edgenet_proto::hub::{Announcement, Handled, Hub, Input, Output, SignedRecord};

use crate::network::Network;
use crate::packet::Packet;
use crate::peer::Peer;

impl<P: Peer> Network<P> {
    /// The index of the relay with identity `id`.
    pub fn relay_index(&self, id: &NodeId) -> Option<usize> {
        self.relays.iter().position(|r| r.hub.node_id() == *id)
    }

    /// Every running relay's announcement of the workers it lends reaches every other running
    /// relay (the adapter does this each second), except those from the relays in `quiet`.
    pub fn announce_except(&mut self, quiet: &[usize]) {
        let from: Vec<(usize, Vec<u8>)> = (0..self.relays.len())
            .filter(|r| self.relays[*r].up && !quiet.contains(r))
            .filter_map(|r| self.relays[r].hub.announcement().ok().map(|a| (r, a)))
            .collect();
        for (sender, bytes) in &from {
            for to in (0..self.relays.len()).filter(|t| t != sender) {
                // Each receiver decodes (and so verifies) the bytes itself.
                match Announcement::decode(bytes) {
                    Ok(a) => {
                        if let Err(e) = self.input(to, Input::Announcement(a)) {
                            self.refused.push((to, e.code().to_owned()));
                        }
                    }
                    Err(e) => self.refused.push((to, e.code().to_owned())),
                }
            }
        }
        self.settle();
    }

    /// Every running relay announces to every other.
    pub fn announce(&mut self) {
        self.announce_except(&[]);
    }

    /// Relay `relay` dies: its state is gone with it, and nothing reaches it or leaves it
    /// until [`Network::restart`]; its peers' connections are left for the test to end.
    pub fn kill(&mut self, relay: usize) {
        if let Some(r) = self.relays.get_mut(relay) {
            r.up = false;
            while r.hub.poll_output().is_some() {}
        }
    }

    /// Relay `relay` runs again as `hub` (fresh state), reading the cluster's task stream from
    /// the start as the relay does at start.
    pub fn restart(&mut self, relay: usize, hub: Hub) {
        let Some(r) = self.relays.get_mut(relay) else {
            return;
        };
        r.hub = hub;
        r.up = true;
        let records: Vec<Vec<u8>> = self.stream.values().cloned().collect();
        for bytes in records {
            self.take_record(relay, &bytes);
        }
        self.settle();
    }

    /// The task stream's records, latest per task, in task order.
    pub fn stream(&self) -> impl Iterator<Item = &[u8]> {
        self.stream.values().map(Vec::as_slice)
    }

    /// What relays refused of what other relays sent them, (relay, EN code), oldest first.
    pub fn refused(&self) -> &[(usize, String)] {
        &self.refused
    }

    /// Queues a relay's output meant for other relays.
    pub(crate) fn collect_cluster(&mut self, from: usize, out: Output) {
        match out {
            Output::Forward(forward) => {
                // A relay the cluster does not know: the subject has no subscriber.
                if let Some(to) = self.relay_index(&forward.relay) {
                    self.send(Packet::Forward { from, to, forward });
                }
            }
            Output::TaskRecord(record) => self.send(Packet::Record { from, record }),
            Output::Attest(entry) => {
                for to in (0..self.relays.len()).filter(|t| *t != from) {
                    self.send(Packet::AttestRequest {
                        from,
                        to,
                        entry: entry.clone(),
                    });
                }
            }
            Output::Send(..) | Output::SendEntries(..) | Output::Close(_) => {}
        }
    }

    /// Delivers a packet between relays.
    pub(crate) fn deliver_cluster(&mut self, packet: Packet) {
        match packet {
            Packet::Forward { from, to, forward } => {
                let relay = self.relays[from].hub.node_id();
                let handled = self.input(
                    to,
                    Input::Forwarded {
                        relay,
                        worker: forward.worker,
                        direction: forward.direction,
                        frame: &forward.frame,
                    },
                );
                if let Err(e) = handled {
                    self.refused.push((to, e.code().to_owned()));
                }
            }
            Packet::Record { record, .. } => {
                // The stream keeps it even while every relay is down.
                self.stream.insert(record.task, record.bytes.clone());
                for relay in 0..self.relays.len() {
                    self.take_record(relay, &record.bytes);
                }
            }
            Packet::AttestRequest { from, to, entry } => {
                if let Ok(Handled::Attested(attestation)) =
                    self.input(to, Input::AttestRequest(&entry))
                {
                    self.send(Packet::Attestation {
                        to: from,
                        hash: entry.hash(),
                        attestation,
                    });
                }
            }
            Packet::Attestation {
                to,
                hash,
                attestation,
            } => {
                if let Err(e) = self.input(to, Input::Attestation { hash, attestation }) {
                    self.refused.push((to, e.code().to_owned()));
                }
            }
            Packet::ToPeer { .. } | Packet::ToRelay { .. } | Packet::Close(_) => {}
        }
    }

    /// Relay `relay` reads a record from the stream (each relay decodes and verifies it).
    fn take_record(&mut self, relay: usize, bytes: &[u8]) {
        if !self.is_up(relay) {
            return;
        }
        let taken = SignedRecord::decode(bytes)
            .map_err(|e| e.code().to_owned())
            .and_then(|r| {
                self.input(relay, Input::TaskRecord(r))
                    .map_err(|e| e.code().to_owned())
            });
        if let Err(code) = taken {
            self.refused.push((relay, code));
        }
    }
}
