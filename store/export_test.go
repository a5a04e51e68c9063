package store

// VerifySlotIndex is verifySlotIndex for the external tests.
var VerifySlotIndex = verifySlotIndex
