// SPDX-License-Identifier: MIT
//! The ABI surface: every function of include/lelp.h is declared in lelp-sys
//! and exported by the library, every enum constant has the header's value,
//! the version check, and the thread markers the C documentation allows.
use lelp_sys as sys;
use std::collections::BTreeMap;

const HEADER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../include/lelp.h");
const SYS_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../lelp-sys/src/lib.rs");

/// Every function of include/lelp.h, as a pointer: this only links if the library exports them all.
fn functions() -> Vec<(&'static str, *const ())> {
    vec![
    ("lelp_version_number", sys::lelp_version_number as *const ()),
    ("lelp_version_string", sys::lelp_version_string as *const ()),
    ("lelp_status_string", sys::lelp_status_string as *const ()),
    ("lelp_last_error", sys::lelp_last_error as *const ()),
    ("lelp_allocator_create", sys::lelp_allocator_create as *const ()),
    ("lelp_allocator_free", sys::lelp_allocator_free as *const ()),
    ("lelp_param_bounds", sys::lelp_param_bounds as *const ()),
    ("lelp_limit_set", sys::lelp_limit_set as *const ()),
    ("lelp_limit_get", sys::lelp_limit_get as *const ()),
    ("lelp_builder_create", sys::lelp_builder_create as *const ()),
    ("lelp_builder_free", sys::lelp_builder_free as *const ()),
    ("lelp_builder_set_int", sys::lelp_builder_set_int as *const ()),
    ("lelp_builder_set_double", sys::lelp_builder_set_double as *const ()),
    ("lelp_builder_get_int", sys::lelp_builder_get_int as *const ()),
    ("lelp_builder_get_double", sys::lelp_builder_get_double as *const ()),
    ("lelp_builder_update", sys::lelp_builder_update as *const ()),
    ("lelp_builder_merge", sys::lelp_builder_merge as *const ()),
    ("lelp_builder_set_head", sys::lelp_builder_set_head as *const ()),
    ("lelp_builder_count", sys::lelp_builder_count as *const ()),
    ("lelp_builder_fit", sys::lelp_builder_fit as *const ()),
    ("lelp_builder_serialized_size", sys::lelp_builder_serialized_size as *const ()),
    ("lelp_builder_serialize", sys::lelp_builder_serialize as *const ()),
    ("lelp_builder_load", sys::lelp_builder_load as *const ()),
    ("lelp_builder_save_path", sys::lelp_builder_save_path as *const ()),
    ("lelp_builder_load_path", sys::lelp_builder_load_path as *const ()),
    ("lelp_model_free", sys::lelp_model_free as *const ()),
    ("lelp_model_get_int", sys::lelp_model_get_int as *const ()),
    ("lelp_model_get_double", sys::lelp_model_get_double as *const ()),
    ("lelp_model_eigenvalues", sys::lelp_model_eigenvalues as *const ()),
    ("lelp_model_explained_variance_ratio", sys::lelp_model_explained_variance_ratio as *const ()),
    ("lelp_model_components", sys::lelp_model_components as *const ()),
    ("lelp_model_means", sys::lelp_model_means as *const ()),
    ("lelp_model_offsets", sys::lelp_model_offsets as *const ()),
    ("lelp_model_targets_from_logits", sys::lelp_model_targets_from_logits as *const ()),
    ("lelp_model_targets_from_labels", sys::lelp_model_targets_from_labels as *const ()),
    ("lelp_model_project", sys::lelp_model_project as *const ()),
    ("lelp_model_assign", sys::lelp_model_assign as *const ()),
    ("lelp_model_mean_entropy", sys::lelp_model_mean_entropy as *const ()),
    ("lelp_model_estimate_beta", sys::lelp_model_estimate_beta as *const ()),
    ("lelp_model_with_beta", sys::lelp_model_with_beta as *const ()),
    ("lelp_model_serialized_size", sys::lelp_model_serialized_size as *const ()),
    ("lelp_model_serialize", sys::lelp_model_serialize as *const ()),
    ("lelp_model_load", sys::lelp_model_load as *const ()),
    ("lelp_model_save_path", sys::lelp_model_save_path as *const ()),
    ("lelp_model_load_path", sys::lelp_model_load_path as *const ()),
    ("lelp_loss_create", sys::lelp_loss_create as *const ()),
    ("lelp_loss_free", sys::lelp_loss_free as *const ()),
    ("lelp_loss_set_int", sys::lelp_loss_set_int as *const ()),
    ("lelp_loss_set_double", sys::lelp_loss_set_double as *const ()),
    ("lelp_loss_get_int", sys::lelp_loss_get_int as *const ()),
    ("lelp_loss_get_double", sys::lelp_loss_get_double as *const ()),
    ("lelp_loss_compute", sys::lelp_loss_compute as *const ()),
    ("lelp_compressor_create", sys::lelp_compressor_create as *const ()),
    ("lelp_compressor_free", sys::lelp_compressor_free as *const ()),
    ("lelp_compressor_set_int", sys::lelp_compressor_set_int as *const ()),
    ("lelp_compressor_set_double", sys::lelp_compressor_set_double as *const ()),
    ("lelp_compressor_get_int", sys::lelp_compressor_get_int as *const ()),
    ("lelp_compressor_get_double", sys::lelp_compressor_get_double as *const ()),
    ("lelp_compressor_step", sys::lelp_compressor_step as *const ()),
    ("lelp_compressor_compress", sys::lelp_compressor_compress as *const ()),
    ("lelp_compressor_student_loss", sys::lelp_compressor_student_loss as *const ()),
    ("lelp_compressor_weights", sys::lelp_compressor_weights as *const ()),
    ("lelp_compressor_serialized_size", sys::lelp_compressor_serialized_size as *const ()),
    ("lelp_compressor_serialize", sys::lelp_compressor_serialize as *const ()),
    ("lelp_compressor_load", sys::lelp_compressor_load as *const ()),
    ("lelp_compressor_save_path", sys::lelp_compressor_save_path as *const ()),
    ("lelp_compressor_load_path", sys::lelp_compressor_load_path as *const ()),
    ("lelp_predict_log_proba", sys::lelp_predict_log_proba as *const ()),
    ("lelp_predict_class", sys::lelp_predict_class as *const ()),
    ("lelp_softmax_targets", sys::lelp_softmax_targets as *const ()),
    ("lelp_inspect", sys::lelp_inspect as *const ()),
    ("lelp_inspect_path", sys::lelp_inspect_path as *const ()),
    ("lelp_model_inspect", sys::lelp_model_inspect as *const ()),
    ("lelp_builder_inspect", sys::lelp_builder_inspect as *const ()),
    ("lelp_compressor_inspect", sys::lelp_compressor_inspect as *const ()),
    ("lelp_loss_inspect", sys::lelp_loss_inspect as *const ()),
    ("lelp_info_get_int", sys::lelp_info_get_int as *const ()),
    ("lelp_info_get_double", sys::lelp_info_get_double as *const ()),
    ("lelp_info_free", sys::lelp_info_free as *const ()),
]
}

/// Every enum constant of include/lelp.h, with lelp-sys's value.
const CONSTANTS: &[(&str, i64)] = &[
    ("LELP_OK", sys::LELP_OK as i64),
    ("LELP_E_NULL", sys::LELP_E_NULL as i64),
    ("LELP_E_INVALID_ARG", sys::LELP_E_INVALID_ARG as i64),
    ("LELP_E_INVALID_HANDLE", sys::LELP_E_INVALID_HANDLE as i64),
    ("LELP_E_NOMEM", sys::LELP_E_NOMEM as i64),
    ("LELP_E_PARAM_UNSUPPORTED", sys::LELP_E_PARAM_UNSUPPORTED as i64),
    ("LELP_E_PARAM_RANGE", sys::LELP_E_PARAM_RANGE as i64),
    ("LELP_E_PARAM_COMBINATION", sys::LELP_E_PARAM_COMBINATION as i64),
    ("LELP_E_STAGE", sys::LELP_E_STAGE as i64),
    ("LELP_E_SHAPE_MISMATCH", sys::LELP_E_SHAPE_MISMATCH as i64),
    ("LELP_E_BUFFER_TOO_SMALL", sys::LELP_E_BUFFER_TOO_SMALL as i64),
    ("LELP_E_LABEL_RANGE", sys::LELP_E_LABEL_RANGE as i64),
    ("LELP_E_NONFINITE", sys::LELP_E_NONFINITE as i64),
    ("LELP_E_TOO_FEW_SAMPLES", sys::LELP_E_TOO_FEW_SAMPLES as i64),
    ("LELP_E_RANK_DEFICIENT", sys::LELP_E_RANK_DEFICIENT as i64),
    ("LELP_E_SOLVER", sys::LELP_E_SOLVER as i64),
    ("LELP_E_NUMERICAL", sys::LELP_E_NUMERICAL as i64),
    ("LELP_E_INVALID_TARGETS", sys::LELP_E_INVALID_TARGETS as i64),
    ("LELP_E_FORMAT", sys::LELP_E_FORMAT as i64),
    ("LELP_E_VERSION", sys::LELP_E_VERSION as i64),
    ("LELP_E_CHECKSUM", sys::LELP_E_CHECKSUM as i64),
    ("LELP_E_TRUNCATED", sys::LELP_E_TRUNCATED as i64),
    ("LELP_E_IO", sys::LELP_E_IO as i64),
    ("LELP_E_INTERNAL", sys::LELP_E_INTERNAL as i64),
    ("LELP_BUILDER_NULL_SPACE", sys::LELP_BUILDER_NULL_SPACE as i64),
    ("LELP_BUILDER_ROTATE", sys::LELP_BUILDER_ROTATE as i64),
    ("LELP_BUILDER_SEED", sys::LELP_BUILDER_SEED as i64),
    ("LELP_BUILDER_BETA", sys::LELP_BUILDER_BETA as i64),
    ("LELP_BUILDER_ENTROPY_FRACTION", sys::LELP_BUILDER_ENTROPY_FRACTION as i64),
    ("LELP_BUILDER_SOLVER", sys::LELP_BUILDER_SOLVER as i64),
    ("LELP_BUILDER_SKETCH_SIZE", sys::LELP_BUILDER_SKETCH_SIZE as i64),
    ("LELP_BUILDER_PRECISION", sys::LELP_BUILDER_PRECISION as i64),
    ("LELP_BUILDER_GRAM_FORM", sys::LELP_BUILDER_GRAM_FORM as i64),
    ("LELP_BUILDER_BETA_SAMPLE", sys::LELP_BUILDER_BETA_SAMPLE as i64),
    ("LELP_BUILDER_LABELLER", sys::LELP_BUILDER_LABELLER as i64),
    ("LELP_MODEL_DIM", sys::LELP_MODEL_DIM as i64),
    ("LELP_MODEL_NUM_CLASSES", sys::LELP_MODEL_NUM_CLASSES as i64),
    ("LELP_MODEL_SUBCLASSES", sys::LELP_MODEL_SUBCLASSES as i64),
    ("LELP_MODEL_SEED", sys::LELP_MODEL_SEED as i64),
    ("LELP_MODEL_BETA", sys::LELP_MODEL_BETA as i64),
    ("LELP_MODEL_NULL_SPACE", sys::LELP_MODEL_NULL_SPACE as i64),
    ("LELP_MODEL_ROTATE", sys::LELP_MODEL_ROTATE as i64),
    ("LELP_MODEL_HEAD_RANK", sys::LELP_MODEL_HEAD_RANK as i64),
    ("LELP_MODEL_ENTROPY_FRACTION", sys::LELP_MODEL_ENTROPY_FRACTION as i64),
    ("LELP_MODEL_AUTO_BETA", sys::LELP_MODEL_AUTO_BETA as i64),
    ("LELP_MODEL_SOLVER", sys::LELP_MODEL_SOLVER as i64),
    ("LELP_MODEL_LABELLER", sys::LELP_MODEL_LABELLER as i64),
    ("LELP_LOSS_TAU", sys::LELP_LOSS_TAU as i64),
    ("LELP_LOSS_ALPHA", sys::LELP_LOSS_ALPHA as i64),
    ("LELP_LOSS_REDUCTION", sys::LELP_LOSS_REDUCTION as i64),
    ("LELP_LOSS_KIND", sys::LELP_LOSS_KIND as i64),
    ("LELP_LOSS_DKD_TARGET_WEIGHT", sys::LELP_LOSS_DKD_TARGET_WEIGHT as i64),
    ("LELP_LOSS_DKD_NONTARGET_WEIGHT", sys::LELP_LOSS_DKD_NONTARGET_WEIGHT as i64),
    ("LELP_LOSS_AUX_TEMPERATURE", sys::LELP_LOSS_AUX_TEMPERATURE as i64),
    ("LELP_COMPRESSOR_DISTANCE", sys::LELP_COMPRESSOR_DISTANCE as i64),
    ("LELP_COMPRESSOR_OPTIMIZER", sys::LELP_COMPRESSOR_OPTIMIZER as i64),
    ("LELP_COMPRESSOR_LR", sys::LELP_COMPRESSOR_LR as i64),
    ("LELP_COMPRESSOR_WEIGHT_DECAY", sys::LELP_COMPRESSOR_WEIGHT_DECAY as i64),
    ("LELP_COMPRESSOR_MOMENTUM", sys::LELP_COMPRESSOR_MOMENTUM as i64),
    ("LELP_COMPRESSOR_ADAM_BETA1", sys::LELP_COMPRESSOR_ADAM_BETA1 as i64),
    ("LELP_COMPRESSOR_ADAM_BETA2", sys::LELP_COMPRESSOR_ADAM_BETA2 as i64),
    ("LELP_COMPRESSOR_MULTILABEL", sys::LELP_COMPRESSOR_MULTILABEL as i64),
    ("LELP_COMPRESSOR_SEED", sys::LELP_COMPRESSOR_SEED as i64),
    ("LELP_LOSS_KIND_KL", sys::LELP_LOSS_KIND_KL as i64),
    ("LELP_LOSS_KIND_DKD", sys::LELP_LOSS_KIND_DKD as i64),
    ("LELP_LOSS_KIND_SUBCLASS_AUX", sys::LELP_LOSS_KIND_SUBCLASS_AUX as i64),
    ("LELP_DISTANCE_MSE", sys::LELP_DISTANCE_MSE as i64),
    ("LELP_DISTANCE_COSINE", sys::LELP_DISTANCE_COSINE as i64),
    ("LELP_DISTANCE_DCOR", sys::LELP_DISTANCE_DCOR as i64),
    ("LELP_OPTIMIZER_SGD", sys::LELP_OPTIMIZER_SGD as i64),
    ("LELP_OPTIMIZER_ADAM", sys::LELP_OPTIMIZER_ADAM as i64),
    ("LELP_SOLVER_EXACT", sys::LELP_SOLVER_EXACT as i64),
    ("LELP_SOLVER_SKETCH", sys::LELP_SOLVER_SKETCH as i64),
    ("LELP_LIMIT_LOAD_BYTES", sys::LELP_LIMIT_LOAD_BYTES as i64),
    ("LELP_LABELLER_PROJECTION", sys::LELP_LABELLER_PROJECTION as i64),
    ("LELP_LABELLER_KMEANS", sys::LELP_LABELLER_KMEANS as i64),
    ("LELP_PRECISION_FLOAT64", sys::LELP_PRECISION_FLOAT64),
    ("LELP_PRECISION_FLOAT32", sys::LELP_PRECISION_FLOAT32),
    ("LELP_REDUCTION_MEAN", sys::LELP_REDUCTION_MEAN as i64),
    ("LELP_REDUCTION_SUM", sys::LELP_REDUCTION_SUM as i64),
    ("LELP_KIND_MODEL", sys::LELP_KIND_MODEL as i64),
    ("LELP_KIND_BUILDER", sys::LELP_KIND_BUILDER as i64),
    ("LELP_KIND_COMPRESSOR", sys::LELP_KIND_COMPRESSOR as i64),
    ("LELP_KIND_LOSS", sys::LELP_KIND_LOSS as i64),
    ("LELP_INFO_KIND", sys::LELP_INFO_KIND as i64),
    ("LELP_INFO_FORMAT_VERSION", sys::LELP_INFO_FORMAT_VERSION as i64),
    ("LELP_INFO_WRITER_VERSION", sys::LELP_INFO_WRITER_VERSION as i64),
    ("LELP_INFO_DIM", sys::LELP_INFO_DIM as i64),
    ("LELP_INFO_NUM_CLASSES", sys::LELP_INFO_NUM_CLASSES as i64),
    ("LELP_INFO_SUBCLASSES", sys::LELP_INFO_SUBCLASSES as i64),
    ("LELP_INFO_STUDENT_DIM", sys::LELP_INFO_STUDENT_DIM as i64),
];

/// The identifiers declared by `LELP_API ... name(` in the header, in order.
fn header_functions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for decl in text.split("LELP_API").skip(1) {
        let decl = &decl[..decl.find('(').expect("a declaration has a parameter list")];
        let name = decl.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap();
        if name.starts_with("lelp_") {
            out.push(name.to_string());
        }
    }
    out
}

/// The header without its /* */ comments.
fn strip_comments(text: &str) -> String {
    let (mut out, mut rest) = (String::new(), text);
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").expect("closed comment") + 2..];
    }
    out.push_str(rest);
    out
}

/// name -> value of every `LELP_X = value` inside an `enum lelp_* { }` of the header.
fn header_constants(text: &str) -> BTreeMap<String, i64> {
    let text = strip_comments(text);
    let mut out = BTreeMap::new();
    for part in text.split("enum lelp_").skip(1) {
        let body = &part[part.find('{').unwrap() + 1..part.find("};").unwrap()];
        for item in body.split(',') {
            if let Some((k, v)) = item.split_once('=') {
                out.insert(k.trim().to_string(), v.trim().parse::<i64>().unwrap());
            }
        }
    }
    out
}

#[test]
fn every_header_function_is_declared_and_linked() {
    let header = std::fs::read_to_string(HEADER).unwrap();
    let mut want = header_functions(&header);
    assert!(want.len() >= 60, "{want:?}");
    let src = std::fs::read_to_string(SYS_SRC).unwrap();
    let block = &src[src.find("\nextern \"C\" {").unwrap()..];
    let mut declared: Vec<String> = block
        .match_indices("pub fn ")
        .map(|(i, _)| block[i + 7..].split('(').next().unwrap().to_string())
        .collect();
    want.sort();
    declared.sort();
    assert_eq!(declared, want);
    // the pointer table names each function once and every pointer is real
    let fns = functions();
    let mut names: Vec<String> = fns.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(names, want);
    assert!(fns.iter().all(|(_, p)| !p.is_null()));
}

#[test]
fn every_constant_has_the_header_value() {
    let want = header_constants(&std::fs::read_to_string(HEADER).unwrap());
    assert!(want.len() >= 60);
    let got: BTreeMap<String, i64> = CONSTANTS.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(got, want);
    assert_eq!(sys::LELP_VERSION_NUMBER, 100);
}

#[test]
fn version_check_refuses_other_abis() {
    assert!(lelp::version().unwrap().starts_with("0.1."));
    assert!(lelp::check_version(100).is_ok());
    assert!(lelp::check_version(199).is_ok());
    for bad in [0u32, 200, 10100, 20000] {
        let e = lelp::check_version(bad).unwrap_err();
        assert_eq!(e.code, lelp::LELP_E_VERSION);
        assert!(e.message.contains("this crate needs liblelp 0.1.x"), "{}", e.message);
    }
    let e = lelp::check_version(10203).unwrap_err();
    assert!(e.message.starts_with("liblelp 1.2.3 is linked"), "{}", e.message);
}

fn send<T: Send>() {}
fn sync<T: Sync>() {}

#[test]
fn thread_markers_follow_the_c_rules() {
    // Model: any number of threads (Send + Sync); the others: one thread at a
    // time (Send only; the compile_fail doc tests of src/lib.rs prove !Sync)
    send::<lelp::Model>();
    sync::<lelp::Model>();
    send::<lelp::Builder>();
    send::<lelp::Loss>();
    send::<lelp::Compressor>();
    // a builder really does move to another thread and back
    let mut b = lelp::Builder::new(2, 1, 1, &Default::default()).unwrap();
    let b = std::thread::spawn(move || {
        b.update(&[0.0, 1.0, 2.0, 0.5, 1.0, 1.0], &[0, 0, 0]).unwrap();
        b
    })
    .join()
    .unwrap();
    assert_eq!(b.count(0).unwrap(), 3);
}

#[test]
fn param_bounds_come_from_the_library() {
    let (lo, hi) = lelp::param_bounds(sys::LELP_BUILDER_ENTROPY_FRACTION).unwrap();
    assert_eq!((lo, hi), (0.01, 0.99));
    assert_eq!(lelp::param_bounds(sys::LELP_MODEL_DIM).unwrap_err().code, lelp::LELP_E_PARAM_UNSUPPORTED);
}
