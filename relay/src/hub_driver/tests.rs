//! The queues from the hub to NATS, filled to their bounds while the relay's own clients are
//! served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::net::{IpAddr, Ipv4Addr};

use edgenet_core::SecretKey;
use edgenet_core::ledger::{Account, LedgerConfig};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::client::ClientSession;
use edgenet_proto::hub::{Announcement, HubConfig};
use edgenet_proto::message::{Capabilities, PeerInfo, Role, TaskSpec};

use super::*;
use crate::cluster::{remote_work, task_records};

const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn caps(kernels: Vec<TaskKind>) -> Capabilities {
    Capabilities {
        cores: 1,
        memory_mib: 256,
        gpu: None,
        kernels,
        backends: vec!["cpu".into()],
    }
}

/// A client of `driver` through a real handshake: its session, connection and queue.
struct Client {
    session: ClientSession,
    reg: Registered,
}

impl Client {
    fn join(driver: &HubDriver, seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        bytes[31] = 0xc1;
        let key = SecretKey::from_seed(&bytes);
        let relay = driver.with_hub(|hub, _| hub.node_id());
        let session = ClientSession::new(key, Role::Native, caps(vec![]), Some(relay));
        let reg = driver.connect(IP).unwrap();
        let mut client = Self { session, reg };
        client.pump(driver);
        assert_eq!(
            client.session.state(),
            edgenet_proto::client::ClientState::Ready
        );
        client
    }

    /// Hands what the relay queued to the session and its answers back, until quiet.
    fn pump(&mut self, driver: &HubDriver) {
        loop {
            let mut moved = false;
            while let Ok(out) = self.reg.outgoing.try_recv() {
                if let Outgoing::Frame(Message::Binary(frame)) = out {
                    let _ = self.session.handle_frame(&frame);
                }
            }
            while self.session.poll_event().is_some() {}
            while let Some(frame) = self.session.poll_outgoing() {
                moved = true;
                let _ = driver.frame(self.reg.conn, &mut self.reg.decoder, &frame);
            }
            if !moved {
                break;
            }
        }
    }

    fn submit(&mut self, driver: &HubDriver, id: u64) {
        let mut task = [0u8; 16];
        task[..8].copy_from_slice(&id.to_le_bytes());
        let spec = TaskSpec {
            id: TaskId(task),
            kind: TaskKind::VECTOR_SEARCH,
            redundancy: 1,
            max_credits: 0,
            priority: 0,
            timeout_ms: 60_000,
        };
        self.session
            .send(&edgenet_proto::message::ClientMsg::Submit(spec))
            .unwrap();
        self.pump(driver);
    }
}

#[test]
fn the_queues_to_nats_drop_and_count_past_their_bound_while_clients_are_served() {
    let me = SecretKey::from_seed(&[0xd1; 32]);
    let other = SecretKey::from_seed(&[0xd2; 32]);
    let validators = LedgerConfig::new(
        vec![Account::of(&me.node_id()), Account::of(&other.node_id())],
        1,
    )
    .unwrap();
    let config = HubConfig {
        work_bits: 0,
        canary_reward: 0,
        uptime_period_ms: 0,
        task_records: true,
        ..HubConfig::default()
    };
    let hub = Hub::new(me, config).with_validators(validators).unwrap();
    let limits = SocketLimits {
        queue_frames: 1_024,
        queue_bytes: 64 << 20,
        max_connections_per_ip: 1_024,
    };
    let driver = HubDriver::new(hub, limits);
    // Nobody drains the queues: NATS is slow or gone.
    let (forward_tx, mut forward_rx) = remote_work::queue();
    driver.forward_to(forward_tx);
    let (records_tx, mut records_rx) = task_records::queue();
    driver.records_to(records_tx);
    // The other relay lends one worker: each task here is offered to it, through NATS.
    let lent = PeerInfo {
        node: *SecretKey::from_seed(&[0xd3; 32]).node_id().as_bytes(),
        exchange_key: vec![0; 128],
        role: Role::Native,
        capabilities: caps(vec![TaskKind::VECTOR_SEARCH]),
    };
    let bytes = Announcement::encode(&other, vec![lent], &[], &[]).unwrap();
    let lender = Announcement::decode(&bytes).unwrap();
    driver
        .with_hub_mut(|hub, now| {
            hub.handle(now, Input::Announcement(lender))
                .map(|h| h.count())
        })
        .unwrap();
    // More tasks than either queue holds: 64 submitters of 65 tasks' worth.
    let per_submitter = 64;
    let submitters = remote_work::FORWARD_QUEUE / per_submitter + 1;
    let mut id = 0;
    for s in 0..submitters {
        let mut client = Client::join(&driver, s as u64);
        for _ in 0..per_submitter {
            id += 1;
            client.submit(&driver, id);
        }
    }
    let tasks = (submitters * per_submitter) as u64;
    let mut forwarded = 0;
    while forward_rx.try_recv().is_ok() {
        forwarded += 1;
    }
    let mut recorded = 0;
    while records_rx.try_recv().is_ok() {
        recorded += 1;
    }
    assert_eq!(forwarded, remote_work::FORWARD_QUEUE);
    assert_eq!(driver.forward_dropped(), tasks - forwarded as u64);
    assert_eq!(recorded, task_records::RECORD_QUEUE);
    assert_eq!(driver.records_dropped(), tasks - recorded as u64);
    // Drained, the queues take again; and a new client is served all along.
    let mut honest = Client::join(&driver, 10_000);
    honest.submit(&driver, id + 1);
    assert_eq!(
        driver.with_hub(|hub, _| hub.stats().open_tasks),
        usize::try_from(tasks).unwrap() + 1
    );
    assert!(forward_rx.try_recv().is_ok(), "the offer went out");
    assert!(records_rx.try_recv().is_ok(), "the record went out");
    assert_eq!(driver.forward_dropped(), tasks - forwarded as u64);
}
