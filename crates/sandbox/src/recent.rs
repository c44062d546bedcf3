//! A small cache of the most recently used values by key, with a bound: what the executor keeps
//! of prepared modules and wasmtime of compiled ones (a job's tasks share their module).

use std::collections::VecDeque;
use std::sync::Mutex;

/// At most `bound` values, the least recently used dropped first.
pub(crate) struct Recent<K, V> {
    bound: usize,
    items: Mutex<VecDeque<(K, V)>>,
}

impl<K: PartialEq, V: Clone> Recent<K, V> {
    pub(crate) fn new(bound: usize) -> Self {
        Self {
            bound: bound.max(1),
            items: Mutex::new(VecDeque::new()),
        }
    }

    /// The value for `key`, made by `make` (outside the lock) when it is not kept.
    pub(crate) fn get_or_make<E>(
        &self,
        key: K,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = items.iter().position(|(k, _)| *k == key)
            && let Some(entry) = items.remove(at)
        {
            let value = entry.1.clone();
            items.push_back(entry);
            return Ok(value);
        }
        drop(items);
        let value = make()?;
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if items.len() >= self.bound {
            items.pop_front();
        }
        items.push_back((key, value.clone()));
        Ok(value)
    }

    /// How many values are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.items.lock().map_or(0, |i| i.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn keeps_at_most_its_bound_and_drops_the_least_recently_used() {
        let cache = Recent::new(2);
        let made = std::cell::Cell::new(0);
        let get = |k: u8| {
            cache
                .get_or_make(k, || {
                    made.set(made.get() + 1);
                    Ok::<_, ()>(k * 10)
                })
                .unwrap_or_default()
        };
        assert_eq!((get(1), get(2), get(1)), (10, 20, 10));
        assert_eq!(made.get(), 2);
        get(3); // drops 2, the least recently used
        assert_eq!(cache.len(), 2);
        get(1);
        assert_eq!(made.get(), 3, "1 was kept");
        get(2);
        assert_eq!(made.get(), 4, "2 was dropped");
    }
}
