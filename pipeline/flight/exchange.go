package flight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlpipe/rlpipe/data"
)

// readRequest reads a DoExchange request on the server: the header from the
// first message's descriptor and every record batch, checked against want.
// The caller owns (releases) the returned records. Errors are gRPC
// statuses.
func readRequest(stream arrowflight.FlightService_DoExchangeServer, mem memory.Allocator, role string, want *arrow.Schema) (RequestHeader, []arrow.Record, error) {
	rd, err := arrowflight.NewRecordReader(stream, ipc.WithAllocator(mem))
	if err != nil {
		return RequestHeader{}, nil, recvStatus(stream.Context(), err)
	}
	defer rd.Release()
	desc := rd.LatestFlightDescriptor()
	if desc == nil || desc.Type != arrowflight.DescriptorCMD {
		return RequestHeader{}, nil, status.Errorf(codes.InvalidArgument, "%v: the first message has no CMD descriptor", ErrProtocol)
	}
	h, err := ParseRequestHeader(desc.Cmd)
	if err != nil {
		return h, nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if h.Role != role {
		return h, nil, status.Errorf(codes.InvalidArgument, "%v: a %s request sent to a %s worker", ErrProtocol, h.Role, role)
	}
	if err := data.ValidateSchema(rd.Schema(), want); err != nil {
		return h, nil, status.Errorf(codes.InvalidArgument, "flight: request batches: %v", err)
	}
	var recs []arrow.Record
	for rd.Next() {
		rec := rd.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rd.Err(); err != nil {
		for _, r := range recs {
			r.Release()
		}
		return h, nil, recvStatus(stream.Context(), err)
	}
	return h, recs, nil
}

func recvStatus(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Errorf(codes.InvalidArgument, "%v: reading request: %v", ErrProtocol, err)
}

// writeReply streams n rows as batches of at most ReplyBatchRows built by
// build (at least one batch, so that an empty reply still carries the
// schema); the last batch carries lastMeta as app metadata. It releases
// every record it builds.
func writeReply(stream arrowflight.DataStreamWriter, mem memory.Allocator, schema *arrow.Schema, n int, lastMeta []byte, build func(lo, hi int) arrow.Record) error {
	w := arrowflight.NewRecordWriter(stream, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	defer w.Close()
	for lo := 0; lo == 0 || lo < n; lo += ReplyBatchRows {
		hi := min(lo+ReplyBatchRows, n)
		rec := build(lo, hi)
		var err error
		if hi == n && lastMeta != nil {
			err = w.WriteWithAppMetadata(rec, lastMeta)
		} else {
			err = w.Write(rec)
		}
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// exchange runs one DoExchange call on the client: it sends the header and
// recs (which it does not release), then reads the reply batches, checked
// against replySchema, handing each to onRec (valid only during the call).
// It returns the last batch's app metadata.
func exchange(ctx context.Context, c arrowflight.Client, mem memory.Allocator, h RequestHeader, sendSchema *arrow.Schema,
	recs []arrow.Record, replySchema *arrow.Schema, onRec func(arrow.Record) error) ([]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream whatever happens
	cmd, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("flight: encoding header: %w", err)
	}
	stream, err := c.DoExchange(ctx)
	if err != nil {
		return nil, err
	}
	w := arrowflight.NewRecordWriter(stream, ipc.WithSchema(sendSchema), ipc.WithAllocator(mem))
	w.SetFlightDescriptor(&arrowflight.FlightDescriptor{Type: arrowflight.DescriptorCMD, Cmd: cmd})
	for _, rec := range recs {
		if err = w.Write(rec); err != nil {
			break
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	// io.EOF on send means the server ended the call: its status comes
	// from the receive side.
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return readReply(stream, mem, replySchema, onRec)
}

func readReply(stream arrowflight.FlightService_DoExchangeClient, mem memory.Allocator, want *arrow.Schema, onRec func(arrow.Record) error) ([]byte, error) {
	rd, err := arrowflight.NewRecordReader(stream, ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	if err := data.ValidateSchema(rd.Schema(), want); err != nil {
		return nil, fmt.Errorf("%w: reply: %v", ErrProtocol, err)
	}
	var meta []byte
	for rd.Next() {
		if err := onRec(rd.Record()); err != nil {
			return nil, err
		}
		meta = slices.Clone(rd.LatestAppMetadata())
	}
	if err := rd.Err(); err != nil {
		return nil, err
	}
	return meta, nil
}

// readRequestRows is readRequest followed by decodeAll with conv: the
// request's header and its rows. Errors are gRPC statuses (rows conv
// rejects are InvalidArgument).
func readRequestRows[T any](stream arrowflight.FlightService_DoExchangeServer, mem memory.Allocator, role string, want *arrow.Schema, conv func(arrow.Record) ([]T, error)) (RequestHeader, []T, error) {
	h, recs, err := readRequest(stream, mem, role, want)
	if err != nil {
		return h, nil, err
	}
	rows, err := decodeAll(recs, conv)
	if err != nil {
		return h, nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return h, rows, nil
}

// decodeAll converts every record of a request into rows and releases the
// records (all of them, also after a conversion error).
func decodeAll[T any](recs []arrow.Record, conv func(arrow.Record) ([]T, error)) ([]T, error) {
	var rows []T
	var err error
	for _, rec := range recs {
		if err == nil {
			var rs []T
			rs, err = conv(rec)
			rows = append(rows, rs...)
		}
		rec.Release()
	}
	return rows, err
}
