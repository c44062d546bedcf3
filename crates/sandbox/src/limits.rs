//! What a task allows its module.

/// Bounds a prepared module is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest module, in bytes.
    pub max_module_bytes: usize,
    /// Memory the module may reach, in 64 KiB pages (its maximum is capped to this).
    pub max_memory_pages: u32,
    /// Most functions defined.
    pub max_functions: u32,
    /// Most elements a table may hold (its maximum is capped to this).
    pub max_table_elements: u64,
    /// Most bytes of data segments, in all.
    pub max_data_bytes: usize,
    /// Most calls in progress at once.
    pub max_depth: u32,
}

impl Default for Limits {
    /// 8 MiB modules, 256 MiB of memory (the brief's default), 100,000 functions, 100,000 table
    /// elements, 8 MiB of data, 512 calls deep (below every engine's own bound: wasmi's default
    /// is 1,024 frames).
    fn default() -> Self {
        Self {
            max_module_bytes: 8 << 20,
            max_memory_pages: 4096,
            max_functions: 100_000,
            max_table_elements: 100_000,
            max_data_bytes: 8 << 20,
            max_depth: 512,
        }
    }
}

impl Limits {
    /// The limits a `custom_wasm` task's runs are held to: the defaults, with the task's memory.
    pub fn for_task(memory_mib: u32) -> Self {
        Self {
            max_memory_pages: memory_mib.saturating_mul(16),
            ..Self::default()
        }
    }
}
