// Accessors for HDF5 constants and predefined types that are C macros (they expand to
// global variables behind H5open(), which Swift cannot import).
#ifndef CHAIN_CHDF5_SHIM_H
#define CHAIN_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t chain_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t chain_h5s_all(void) { return H5S_ALL; }
static inline hid_t chain_h5e_default(void) { return H5E_DEFAULT; }
static inline unsigned chain_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned chain_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned chain_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned chain_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline hid_t chain_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t chain_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t chain_h5p_link_create(void) { return H5P_LINK_CREATE; }

static inline hid_t chain_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chain_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t chain_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t chain_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t chain_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t chain_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t chain_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t chain_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t chain_h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t chain_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t chain_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t chain_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t chain_h5t_c_s1(void) { return H5T_C_S1; }

/// The IEEE binary16 little-endian type, built the way h5py builds it, so files we write
/// read back in h5py/numpy as float16 and theirs read here.
static inline hid_t chain_h5t_make_float16(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    H5Tset_precision(t, 16);
    return t;
}

/// Turns off HDF5's automatic error-stack printing; callers report errors themselves.
static inline void chain_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

#endif
