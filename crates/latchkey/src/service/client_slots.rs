//! A bound on how many of one client's requests may wait at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Device completions in progress per client. Each waits minutes for a
/// person and holds one of the node's polling slots, so one client with
/// many sessions could otherwise take them all.
pub struct ClientSlots {
    per_client: usize,
    taken: Mutex<HashMap<IpAddr, usize>>,
}

/// One held slot; dropping it gives the slot back.
pub struct ClientSlot<'a> {
    slots: &'a ClientSlots,
    client: IpAddr,
}

impl ClientSlots {
    pub fn new(per_client: usize) -> Self {
        Self {
            per_client: per_client.max(1),
            taken: Default::default(),
        }
    }

    pub fn take(&self, client: IpAddr) -> Option<ClientSlot<'_>> {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let held = taken.entry(client).or_insert(0);
        if *held >= self.per_client {
            return None;
        }
        *held += 1;
        Some(ClientSlot {
            slots: self,
            client,
        })
    }
}

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = taken.get_mut(&self.client) {
            *held -= 1;
            if *held == 0 {
                taken.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_slots_are_counted_per_client_and_given_back() {
        let slots = ClientSlots::new(2);
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        let one = slots.take(a).unwrap();
        let _two = slots.take(a).unwrap();
        assert!(slots.take(a).is_none());
        assert!(slots.take(b).is_some());
        drop(one);
        assert!(slots.take(a).is_some());
    }
}
