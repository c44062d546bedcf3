//! The JS reads its kind lists from `pkg/src/kinds.generated.js`, and finds each page kind's
//! module (`pkg/src/kinds/<name>.js`: its payload check and codec) through
//! `pkg/src/kinds/index.generated.js`. Both are written from the registry
//! (`edgenet_core::kinds::REGISTRY`): this test fails when either differs, or when a kind a page
//! runs has no module, and `EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js`
//! rewrites them.

#![allow(clippy::unwrap_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::kinds::{Needs, REGISTRY};

const PKG_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pkg/src");

/// The kinds a page submits and runs: all but those only a shard's holders run.
fn page_kinds() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|k| k.needs != Needs::Shard)
        .map(|k| k.name)
        .collect()
}

/// The index of the page kinds' modules: maps of payload checks and result shapes (the page's
/// script) and of codecs (the coordinator's), apart so that each bundle keeps only its half.
fn index() -> String {
    let kinds = page_kinds();
    let imports: Vec<String> = kinds
        .iter()
        .map(|k| format!("import * as {k} from './{k}.js';"))
        .collect();
    let field = |half: &str| -> String {
        kinds
            .iter()
            .map(|k| format!("  {k}: {k}.{half},"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "// @ts-check\n\
         // Written from the Rust registry of task kinds (crates/core/src/kinds/mod.rs) by\n\
         // `EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js`; do not edit.\n\
         // Each kind a page runs has its module here: `check` and `shape` (the page's script) and\n\
         // `codec` (the coordinator).\n\n\
         {}\n\n\
         /** @type {{Record<string, (c: import('../check.js').Checker, payload: any) => any>}} */\n\
         export const CHECKS = {{\n{}\n}};\n\n\
         /** @type {{Record<string, (result: any) => any>}} */\n\
         export const SHAPES = {{\n{}\n}};\n\n\
         /** @type {{Record<string, import('./codec.js').Codec>}} */\n\
         export const CODECS = {{\n{}\n}};\n",
        imports.join("\n"),
        field("check"),
        field("shape"),
        field("codec"),
    )
}

fn generated() -> String {
    let rows: Vec<String> = REGISTRY
        .iter()
        .map(|k| {
            format!(
                "  {{ name: '{}', wire: {}, needs: '{}' }},",
                k.name,
                k.kind.wire(),
                k.needs.name()
            )
        })
        .collect();
    format!(
        "// @ts-check\n\
         // Written from the Rust registry of task kinds (crates/core/src/kinds/mod.rs) by\n\
         // `EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js`; do not edit.\n\
         // `needs`: 'kernels' (the compute module runs it), 'model' (the embedding module),\n\
         // 'shard' (native holders of a collection's shard only).\n\n\
         /** @type {{ReadonlyArray<{{name: string, wire: number, needs: 'kernels' | 'model' | 'shard' | 'sandbox'}}>}} */\n\
         export const KINDS = Object.freeze([\n{}\n]);\n",
        rows.join("\n")
    )
}

/// Rewrites `file` under pkg/src when asked, then fails if it differs from `want`.
fn check_generated(file: &str, want: &str) {
    let path = format!("{PKG_SRC}/{file}");
    if std::env::var_os("EDGENET_WRITE_KINDS").is_some() {
        std::fs::write(&path, want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        have, want,
        "pkg/src/{file} differs from the registry; rewrite it with \
         EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js"
    );
}

#[test]
fn the_js_kind_list_is_the_registry() {
    check_generated("kinds.generated.js", &generated());
}

#[test]
fn every_page_kind_has_its_module_and_the_index_lists_them() {
    for k in page_kinds() {
        let path = format!("{PKG_SRC}/kinds/{k}.js");
        let module = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{path}: a kind a page runs needs its module"));
        assert!(
            module.contains("export function check(")
                && module.contains("export function shape(")
                && module.contains("export const codec"),
            "{path} exports `check`, `shape` and `codec`"
        );
    }
    check_generated("kinds/index.generated.js", &index());
}

/// `pkg/index.d.ts` is published on its own (the package ships no `src/`), so it spells the kinds
/// out: its `TaskType` and its `Task` union must name exactly the kinds a page runs.
#[test]
fn the_published_types_name_the_page_kinds() {
    let dts = std::fs::read_to_string(format!("{PKG_SRC}/../index.d.ts")).unwrap();
    let task_type = dts
        .lines()
        .find_map(|l| l.strip_prefix("export type TaskType = "))
        .expect("index.d.ts declares TaskType");
    let named: Vec<&str> = task_type
        .trim_end_matches(';')
        .split('|')
        .map(|k| k.trim().trim_matches('\''))
        .collect();
    assert_eq!(named, page_kinds(), "TaskType in pkg/index.d.ts");
    for k in page_kinds() {
        assert!(
            dts.contains(&format!("{{ type: '{k}'; payload: ")),
            "pkg/index.d.ts's Task union has no member for {k}"
        );
    }
}
