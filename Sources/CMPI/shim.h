// Accessors for Open MPI handles and constants that are C macros (and so do not
// import into Swift). Each is a trivial static inline function.
#ifndef CHAIN_CMPI_SHIM_H
#define CHAIN_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm chain_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm chain_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Comm chain_mpi_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Datatype chain_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype chain_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype chain_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype chain_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype chain_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Op chain_mpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op chain_mpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op chain_mpi_op_min(void) { return MPI_MIN; }
static inline void *chain_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler chain_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Errhandler chain_mpi_errors_are_fatal(void) { return MPI_ERRORS_ARE_FATAL; }
static inline int chain_mpi_success(void) { return MPI_SUCCESS; }
static inline int chain_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int chain_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Request chain_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *chain_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *chain_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }

#endif
