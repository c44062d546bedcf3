//! The module, validated and rewritten section by section.

use sha2::{Digest, Sha256};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataCountSection, DataSection, ElementSection, ExportKind,
    ExportSection, FunctionSection, GlobalSection, GlobalType, MemorySection, MemoryType, Module,
    TableSection, TypeSection, ValType,
};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::meter::{Frame, rewrite};
use crate::{DEPTH_EXPORT, FUEL_EXPORT, Limits, SandboxError};

/// A module ready to run: its bytes and their SHA-256 (what caches and canaries name it by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The prepared module.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`.
    pub hash: [u8; 32],
}

/// The features a module may use (module docs of the crate). `MVP` names floats and `GC_TYPES`;
/// the latter (`externref`, useless to a module that imports nothing) is left out, as wasmtime
/// built without a garbage collector cannot compile it: every runner must take every module.
fn allowed() -> WasmFeatures {
    (WasmFeatures::MVP
        | WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::SIMD)
        .difference(WasmFeatures::GC_TYPES)
}

/// Validates `module` against `limits` and rewrites it (crate docs); refused with an EN-6xx code.
pub fn prepare(module: &[u8], limits: &Limits) -> Result<Prepared, SandboxError> {
    if module.len() > limits.max_module_bytes {
        return Err(SandboxError::TooLarge(format!(
            "{} bytes (at most {})",
            module.len(),
            limits.max_module_bytes
        )));
    }
    let validated = Validator::new_with_features(allowed())
        .validate_all(module)
        .map_err(|e| SandboxError::Invalid(e.to_string()))?;
    let types = validated.as_ref();
    let invalid = |e: wasmparser::BinaryReaderError| SandboxError::Invalid(e.to_string());
    let reencode = |e: wasm_encoder::reencode::Error| SandboxError::Invalid(e.to_string());
    if types.function_count() > limits.max_functions {
        return Err(SandboxError::TooLarge(format!(
            "{} functions (at most {})",
            types.function_count(),
            limits.max_functions
        )));
    }
    if types.memory_count() > 1 {
        return Err(SandboxError::Memory("more than one memory".into()));
    }
    let mut re = RoundtripReencoder;
    let mut sections = Sections::default();
    let globals_before = types.global_count();
    let fuel = globals_before;
    let depth = globals_before + 1;
    let mut defined = 0u32;
    let mut data_bytes = 0usize;
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(r) => {
                let mut s = TypeSection::new();
                re.parse_type_section(&mut s, r).map_err(reencode)?;
                sections.types = Some(s);
            }
            Payload::ImportSection(r) => {
                if let Some(import) = r.into_imports().next() {
                    let import = import.map_err(invalid)?;
                    return Err(SandboxError::Import(format!(
                        "{}.{}",
                        import.module, import.name
                    )));
                }
            }
            Payload::FunctionSection(r) => {
                let mut s = FunctionSection::new();
                re.parse_function_section(&mut s, r).map_err(reencode)?;
                sections.functions = Some(s);
            }
            Payload::TableSection(r) => {
                // Capped like memory: at most the limit's elements, growth included.
                let mut s = TableSection::new();
                for table in r {
                    let table = table.map_err(invalid)?;
                    let cap = limits.max_table_elements;
                    if table.ty.initial > cap {
                        return Err(SandboxError::TooLarge(format!(
                            "a table of {} elements (at most {cap})",
                            table.ty.initial
                        )));
                    }
                    let mut ty = re.table_type(table.ty).map_err(reencode)?;
                    ty.maximum = Some(table.ty.maximum.map_or(cap, |m| m.min(cap)));
                    match table.init {
                        wasmparser::TableInit::RefNull => s.table(ty),
                        wasmparser::TableInit::Expr(e) => {
                            s.table_with_init(ty, &re.const_expr(e).map_err(reencode)?)
                        }
                    };
                }
                sections.tables = Some(s);
            }
            Payload::MemorySection(r) => {
                let mut s = MemorySection::new();
                for memory in r {
                    let memory = memory.map_err(invalid)?;
                    let cap = u64::from(limits.max_memory_pages);
                    if memory.initial > cap {
                        return Err(SandboxError::Memory(format!(
                            "{} pages at the start, the task allows {cap}",
                            memory.initial
                        )));
                    }
                    s.memory(MemoryType {
                        minimum: memory.initial,
                        maximum: Some(memory.maximum.map_or(cap, |m| m.min(cap))),
                        memory64: false,
                        shared: false,
                        page_size_log2: None,
                    });
                }
                sections.memories = Some(s);
            }
            Payload::GlobalSection(r) => {
                let mut s = GlobalSection::new();
                re.parse_global_section(&mut s, r).map_err(reencode)?;
                sections.globals = Some(s);
            }
            Payload::ExportSection(r) => {
                let mut s = ExportSection::new();
                for export in r.clone() {
                    let export = export.map_err(invalid)?;
                    if export.name.starts_with("edgenet_") {
                        return Err(SandboxError::Reserved(export.name.to_owned()));
                    }
                }
                re.parse_export_section(&mut s, r).map_err(reencode)?;
                sections.exports = Some(s);
            }
            Payload::StartSection { .. } => return Err(SandboxError::Start),
            Payload::ElementSection(r) => {
                let mut s = ElementSection::new();
                re.parse_element_section(&mut s, r).map_err(reencode)?;
                sections.elements = Some(s);
            }
            Payload::DataCountSection { count, .. } => {
                sections.data_count = Some(DataCountSection { count });
            }
            Payload::DataSection(r) => {
                let mut s = DataSection::new();
                for datum in r.clone() {
                    data_bytes += datum.map_err(invalid)?.data.len();
                }
                if data_bytes > limits.max_data_bytes {
                    return Err(SandboxError::TooLarge(format!(
                        "{data_bytes} bytes of data (at most {})",
                        limits.max_data_bytes
                    )));
                }
                re.parse_data_section(&mut s, r).map_err(reencode)?;
                sections.data = Some(s);
            }
            Payload::CodeSectionEntry(body) => {
                let ty = types[types.core_function_at(defined)].unwrap_func();
                defined += 1;
                let results = block_type(ty.results(), &mut sections, &mut re)?;
                let frame = Frame {
                    fuel,
                    depth,
                    max_depth: limits.max_depth,
                    params: u32::try_from(ty.params().len()).unwrap_or(u32::MAX),
                    results,
                };
                let function = rewrite(&body, &frame)?;
                sections
                    .code
                    .get_or_insert_with(CodeSection::new)
                    .function(&function);
            }
            // Names and other custom sections are dropped: the prepared bytes depend on the code.
            _ => {}
        }
    }
    let mut globals = sections.globals.take().unwrap_or_default();
    let mutable = |val_type| GlobalType {
        val_type,
        mutable: true,
        shared: false,
    };
    globals.global(mutable(ValType::I64), &ConstExpr::i64_const(0));
    globals.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
    let mut exports = sections.exports.take().unwrap_or_default();
    exports.export(FUEL_EXPORT, ExportKind::Global, fuel);
    exports.export(DEPTH_EXPORT, ExportKind::Global, depth);
    let mut out = Module::new();
    if let Some(types) = &sections.types {
        out.section(types);
    }
    if let Some(s) = &sections.functions {
        out.section(s);
    }
    if let Some(s) = &sections.tables {
        out.section(s);
    }
    if let Some(s) = &sections.memories {
        out.section(s);
    }
    out.section(&globals);
    out.section(&exports);
    if let Some(s) = &sections.elements {
        out.section(s);
    }
    if let Some(s) = &sections.data_count {
        out.section(s);
    }
    if let Some(s) = &sections.code {
        out.section(s);
    }
    if let Some(s) = &sections.data {
        out.section(s);
    }
    let bytes = out.finish();
    // What this module writes must validate: a rewrite bug is refused here, never run.
    Validator::new_with_features(allowed())
        .validate_all(&bytes)
        .map_err(|e| SandboxError::Invalid(format!("the prepared module: {e}")))?;
    let hash = Sha256::digest(&bytes).into();
    Ok(Prepared { bytes, hash })
}

/// The sections of the output, as they are read.
#[derive(Default)]
struct Sections {
    types: Option<TypeSection>,
    functions: Option<FunctionSection>,
    tables: Option<TableSection>,
    memories: Option<MemorySection>,
    globals: Option<GlobalSection>,
    exports: Option<ExportSection>,
    elements: Option<ElementSection>,
    data_count: Option<DataCountSection>,
    code: Option<CodeSection>,
    data: Option<DataSection>,
    /// Types appended for the blocks that wrap functions of several results, by their results.
    wrap_types: Vec<(Vec<ValType>, u32)>,
    /// Types the input declared (the index of the first appended one).
    declared_types: Option<u32>,
}

/// The block type a function's body is wrapped in: its results.
fn block_type(
    results: &[wasmparser::ValType],
    sections: &mut Sections,
    re: &mut RoundtripReencoder,
) -> Result<BlockType, SandboxError> {
    let results: Vec<ValType> = results
        .iter()
        .map(|t| re.val_type(*t))
        .collect::<Result<_, _>>()
        .map_err(|e| SandboxError::Invalid(e.to_string()))?;
    Ok(match results.as_slice() {
        [] => BlockType::Empty,
        [one] => BlockType::Result(*one),
        many => {
            if let Some((_, index)) = sections.wrap_types.iter().find(|(r, _)| r == many) {
                return Ok(BlockType::FunctionType(*index));
            }
            let types = sections.types.get_or_insert_with(TypeSection::new);
            let first_new = *sections.declared_types.get_or_insert(types.len());
            let index = first_new + u32::try_from(sections.wrap_types.len()).unwrap_or(u32::MAX);
            types.ty().function([], many.iter().copied());
            sections.wrap_types.push((many.to_vec(), index));
            BlockType::FunctionType(index)
        }
    })
}
