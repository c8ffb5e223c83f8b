/**
 * Protobuf classes generated at build time from {@code src/main/proto/onnx.proto}: the subset of
 * ONNX's model format the project reads and writes (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto,
 * StringStringEntryProto) with ONNX's field numbers; unknown fields survive a round trip. Used by
 * {@code dev.samplenorm.onnx}, whose documentation describes the statistics modes.
 */
package dev.samplenorm.onnx.proto;
