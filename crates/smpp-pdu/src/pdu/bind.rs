//! bind_transmitter / bind_receiver / bind_transceiver, their responses, and outbind.

use bytes::{BufMut, Bytes, BytesMut};

use crate::tlv::Tlvs;
use crate::types::{Npi, Ton};
use crate::wire::{put_cstr, Reader, Storage};
use crate::{Error, Field};

/// The body of the three bind requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bind<B = Bytes> {
    /// The ESME's identity (at most 15 characters).
    pub system_id: B,
    /// Its password (at most 8 characters).
    pub password: B,
    /// The kind of ESME (at most 12 characters), often empty.
    pub system_type: B,
    /// The SMPP version the ESME speaks: 0x34 for 3.4, 0x50 for 5.0.
    pub interface_version: u8,
    /// TON of the address range served by a receiver.
    pub addr_ton: Ton,
    /// NPI of the address range.
    pub addr_npi: Npi,
    /// The address range (a regular expression in practice), often empty.
    pub address_range: B,
}

impl<B: Storage> Bind<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        let bind = Bind {
            system_id: r.cstr(Field::SystemId, 16)?,
            password: r.cstr(Field::Password, 9)?,
            system_type: r.cstr(Field::SystemType, 13)?,
            interface_version: r.u8(Field::InterfaceVersion)?,
            addr_ton: Ton(r.u8(Field::AddrTon)?),
            addr_npi: Npi(r.u8(Field::AddrNpi)?),
            address_range: r.last_cstr(Field::AddressRange, 41)?,
        };
        r.finish()?;
        Ok(bind)
    }
}

impl<B: AsRef<[u8]>> Bind<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::SystemId, self.system_id.as_ref())?;
        put_cstr(buf, Field::Password, self.password.as_ref())?;
        put_cstr(buf, Field::SystemType, self.system_type.as_ref())?;
        buf.put_u8(self.interface_version);
        buf.put_u8(self.addr_ton.0);
        buf.put_u8(self.addr_npi.0);
        put_cstr(buf, Field::AddressRange, self.address_range.as_ref())
    }
}

/// The body of the three bind responses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindResp<B = Bytes> {
    /// The SMSC's identity. Empty when the body was omitted (as on an error).
    pub system_id: B,
    /// Optional parameters: `sc_interface_version`.
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> BindResp<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(BindResp {
            system_id: r.last_cstr_or_empty(Field::SystemId, 16)?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> BindResp<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::SystemId, self.system_id.as_ref())?;
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

/// The body of outbind: an SMSC asks an ESME to bind to it as a receiver.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outbind<B = Bytes> {
    /// The SMSC's identity.
    pub system_id: B,
    /// Its password.
    pub password: B,
}

impl<B: Storage> Outbind<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        let o = Outbind {
            system_id: r.cstr(Field::SystemId, 16)?,
            password: r.last_cstr(Field::Password, 9)?,
        };
        r.finish()?;
        Ok(o)
    }
}

impl<B: AsRef<[u8]>> Outbind<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::SystemId, self.system_id.as_ref())?;
        put_cstr(buf, Field::Password, self.password.as_ref())
    }
}
