pub(crate) mod python;
