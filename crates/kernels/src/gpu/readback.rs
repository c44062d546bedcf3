//! Copying buffers back to the host: one submit, one map, awaited without blocking the browser.

use super::{Gpu, gpu_error};
use crate::KernelError;

impl Gpu {
    /// Submits `encoder` after copying `sources` (buffer, bytes) into one mappable buffer; returns
    /// each source's bytes.
    pub(super) async fn submit_and_read(
        &self,
        mut encoder: wgpu::CommandEncoder,
        sources: &[(&wgpu::Buffer, u64)],
    ) -> Result<Vec<Vec<u8>>, KernelError> {
        let total: u64 = sources.iter().map(|(_, n)| n).sum();
        let read_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: total.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut offset = 0;
        for (buf, n) in sources {
            if *n > 0 {
                encoder.copy_buffer_to_buffer(buf, 0, &read_buf, offset, *n);
            }
            offset += n;
        }
        self.queue.submit([encoder.finish()]);
        let slice = read_buf.slice(..);
        let (tx, rx) = oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| tx.send(r));
        // Natively the map callback runs inside `poll`; in the browser `poll` does nothing and the
        // callback comes from the event loop while we await.
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(gpu_error)?;
        rx.await
            .ok_or_else(|| gpu_error("readback never completed"))?
            .map_err(gpu_error)?;
        let data = slice.get_mapped_range().map_err(gpu_error)?;
        let mut out = Vec::with_capacity(sources.len());
        let mut at = 0usize;
        for (_, n) in sources {
            out.push(data[at..at + *n as usize].to_vec());
            at += *n as usize;
        }
        drop(data);
        read_buf.unmap();
        Ok(out)
    }
}

/// u32s from little-endian bytes.
pub(super) fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A one-value channel whose receiver is a future: the map callback sends, the reader awaits.
mod oneshot {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    struct Slot<T> {
        value: Option<T>,
        waker: Option<Waker>,
        sender_gone: bool,
    }

    pub(super) struct Sender<T>(Arc<Mutex<Slot<T>>>);
    pub(super) struct Receiver<T>(Arc<Mutex<Slot<T>>>);

    pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let slot = Arc::new(Mutex::new(Slot {
            value: None,
            waker: None,
            sender_gone: false,
        }));
        (Sender(slot.clone()), Receiver(slot))
    }

    impl<T> Sender<T> {
        pub(super) fn send(self, value: T) {
            if let Ok(mut slot) = self.0.lock() {
                slot.value = Some(value);
            }
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            if let Ok(mut slot) = self.0.lock() {
                slot.sender_gone = true;
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
            }
        }
    }

    impl<T> Future for Receiver<T> {
        /// `None` if the sender went away without sending.
        type Output = Option<T>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            let Ok(mut slot) = self.0.lock() else {
                return Poll::Ready(None);
            };
            if let Some(v) = slot.value.take() {
                return Poll::Ready(Some(v));
            }
            if slot.sender_gone {
                return Poll::Ready(None);
            }
            slot.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
