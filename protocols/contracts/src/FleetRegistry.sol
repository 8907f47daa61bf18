// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title FleetRegistry
/// @notice One fleet: its owner, the gateways the owner authorises and the devices the owner
/// registers. Its address is the `verifyingContract` of the fleet's EIP-712 domain.
/// @dev A device's one storage slot holds its certificate hash, or REVOKED once revoked, so that
/// registration costs one new slot per device and a status read costs one SLOAD.
contract FleetRegistry is Ownable {
    /// Device status codes returned by `status`.
    uint8 public constant STATUS_UNKNOWN = 0;
    uint8 public constant STATUS_REGISTERED = 1;
    uint8 public constant STATUS_REVOKED = 2;

    /// Most devices in one `registerDevices` or `revokeDevices` call, so one batch fits a block.
    uint256 public constant MAX_BATCH = 1000;

    bytes32 private constant REVOKED = bytes32(type(uint256).max);

    /// The fleet id (the `fleet` field of every signed message).
    bytes32 public immutable fleet;

    /// Number of registration batches so far; the next batch gets this number.
    uint256 public batches;

    mapping(address gateway => bool) public isGateway;
    mapping(address device => bytes32) private _devices;

    event GatewayAuthorised(address indexed gateway, bool authorised);
    event DeviceRegistered(address indexed device, uint256 indexed batch, bytes32 certificateHash);
    event DeviceRevoked(address indexed device);

    error ZeroFleet();
    error ZeroAddress();
    error EmptyBatch();
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 devices, uint256 certificateHashes);
    error InvalidCertificateHash(address device);
    error DeviceAlreadyRegistered(address device);
    error DeviceIsRevoked(address device);
    error DeviceNotRegistered(address device);

    constructor(address owner_, bytes32 fleet_) Ownable(owner_) {
        if (fleet_ == bytes32(0)) revert ZeroFleet();
        fleet = fleet_;
    }

    /// @notice Authorises a gateway to settle rounds, or withdraws its authorisation.
    function setGateway(address gateway, bool authorised) external onlyOwner {
        if (gateway == address(0)) revert ZeroAddress();
        isGateway[gateway] = authorised;
        emit GatewayAuthorised(gateway, authorised);
    }

    /// @notice Registers a batch of devices, each with the hash of its DeviceCertificate.
    /// @return batch The batch number, also in each DeviceRegistered event.
    function registerDevices(address[] calldata devices, bytes32[] calldata certificateHashes)
        external
        onlyOwner
        returns (uint256 batch)
    {
        uint256 n = devices.length;
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        if (n != certificateHashes.length) revert LengthMismatch(n, certificateHashes.length);
        batch = batches;
        batches = batch + 1;
        for (uint256 i = 0; i < n; ++i) {
            address device = devices[i];
            bytes32 certificateHash = certificateHashes[i];
            if (device == address(0)) revert ZeroAddress();
            if (certificateHash == bytes32(0) || certificateHash == REVOKED) revert InvalidCertificateHash(device);
            bytes32 current = _devices[device];
            if (current == REVOKED) revert DeviceIsRevoked(device);
            if (current != bytes32(0)) revert DeviceAlreadyRegistered(device);
            _devices[device] = certificateHash;
            emit DeviceRegistered(device, batch, certificateHash);
        }
    }

    /// @notice Revokes registered devices. Revocation is final.
    function revokeDevices(address[] calldata devices) external onlyOwner {
        uint256 n = devices.length;
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        for (uint256 i = 0; i < n; ++i) {
            address device = devices[i];
            bytes32 current = _devices[device];
            if (current == REVOKED) revert DeviceIsRevoked(device);
            if (current == bytes32(0)) revert DeviceNotRegistered(device);
            _devices[device] = REVOKED;
            emit DeviceRevoked(device);
        }
    }

    /// @notice STATUS_UNKNOWN, STATUS_REGISTERED or STATUS_REVOKED.
    function status(address device) external view returns (uint8) {
        bytes32 current = _devices[device];
        if (current == bytes32(0)) return STATUS_UNKNOWN;
        if (current == REVOKED) return STATUS_REVOKED;
        return STATUS_REGISTERED;
    }

    /// @notice The certificate hash a registered device was registered with (zero otherwise).
    function certificateHashOf(address device) external view returns (bytes32) {
        bytes32 current = _devices[device];
        return current == REVOKED ? bytes32(0) : current;
    }
}
